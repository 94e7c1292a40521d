"""The worker's end when `dev` dies: however many parent-death signals the kernel
sends (one per exiting thread of dev that the worker is handed to), Celery sees
one SIGTERM, and none when its shutdown had already begun. And dev's own stop: a
signal while a child starts waits until the child is on the list, and dev never
leaves before its children, even when a second signal comes while it waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import os, signal, sys, time
from cli import dev_procs
seen = []
signal.signal(signal.SIGTERM, lambda *_: seen.append("TERM"))
dev_procs.stop_once_when_parent_gone()
if sys.argv[1] == "already-stopping":
    dev_procs.stopping("Warm", 0)
for _ in range(3):
    os.kill(os.getpid(), dev_procs.PARENT_GONE)
    time.sleep(0.05)
print(len(seen))
"""


def _sigterms(case: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, case],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout.strip())


def test_three_parent_deaths_make_one_sigterm() -> None:
    assert _sigterms("running") == 1


def test_a_parent_death_during_a_shutdown_adds_no_sigterm() -> None:
    assert _sigterms("already-stopping") == 0


def test_exit_code_of_celerys_system_exit() -> None:
    from cli.dev_procs import exit_code

    assert [exit_code(SystemExit(c)) for c in (None, 0, 1, "boom")] == [0, 0, 1, 1]


DEV = """
import os, signal, subprocess, sys, time
from cli import dev_procs
dev_procs.stop_children_on_signals()
children = []
try:
    with dev_procs.starting_children():
        children.append(subprocess.Popen(  # ignores SIGTERM from birth (SIG_IGN outlives exec)
            [sys.executable, "-c", "import time; time.sleep(600)"],
            preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),
        ))
        os.kill(os.getpid(), signal.SIGTERM)  # a stop while the child is being started: held
        print("held until the child is on the list", flush=True)
    print("not reached", flush=True)
except SystemExit as exc:
    print(f"then acted: {exc.code}", flush=True)
    if sys.argv[1] == "second-signal":
        signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
        signal.setitimer(signal.ITIMER_REAL, 1.0)  # a second SIGTERM while dev waits
    dev_procs.stop_children(children, grace=600)
    print(f"child ended {children[0].returncode} before dev", flush=True)
"""


def _dev(case: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", DEV, case],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_a_stop_while_a_child_starts_waits_for_it_and_a_second_signal_kills_it_before_dev_leaves() -> None:
    """The child ignores SIGTERM (as a worker deep in its shutdown may): a second signal to dev
    kills it, and dev still returns only once it has ended, never before."""
    lines = _dev("second-signal")
    assert "held until the child is on the list" in lines and "not reached" not in lines, lines
    assert "then acted: 143" in lines, lines
    assert lines[-1] == f"child ended {-signal.SIGKILL} before dev", lines

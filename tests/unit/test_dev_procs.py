"""The worker's end when `dev` dies: however many parent-death signals the kernel
sends (one per exiting thread of dev that the worker is handed to), Celery sees
one SIGTERM, and none when its shutdown had already begun."""

from __future__ import annotations

import os
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

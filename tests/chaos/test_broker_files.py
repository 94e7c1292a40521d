"""The embedded broker's queue folder holding a file that is not a message (a
publisher's write cut short, a stray file): the worker sets it aside and goes
on taking tasks. With kombu's stock filesystem transport the worker stopped
("Unrecoverable error: JSONDecodeError") and every later task stayed created.
And a worker that does stop says so with its exit code."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from shared.browser_kinds import queue_for
from tests.chaos.conftest import StackFactory
from tests.chaos.helpers import submit, wait_final
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.stack import CHROMIUM


def test_a_bad_file_in_the_queue_folder_leaves_the_worker_taking_tasks(
    make_stack: StackFactory, model: ScriptedModelServer
) -> None:
    stack = make_stack("embedded", workers=1, concurrency=1)
    queue = stack.data_dir / "broker" / "queue"
    name = queue_for("stealth")  # the queue the worker (of the default kind) takes run-task messages from
    (queue / f"0_00000000-0000-0000-0000-000000000000.{name}.msg").write_bytes(b"")
    (queue / f"00_00000000-0000-0000-0000-000000000001.{name}.msg").write_bytes(b'{"body": "cut sh')
    time.sleep(1)  # the worker polls every 0.1 s: it has read both by now
    with stack.client() as client:
        task = wait_final(client, submit(client, model.script([answer("Finish", {"done": {"text": "ok"}})])))
    assert task["status"] == "finished", task
    assert stack.worker_procs[0].poll() is None, stack.diagnosis()
    assert sorted(p.name[:2] for p in (stack.data_dir / "broker" / "corrupt").iterdir()) == ["00", "0_"]
    assert "is not a message" in stack.log("worker0")


def test_a_worker_that_cannot_go_on_exits_non_zero(tmp_path: Path) -> None:
    """An exchange table that is not JSON (a disk that filled mid-write) stops Celery
    ("Unrecoverable error"); `browserq worker` then exits 1, not 0, so a process
    manager's restart-on-failure sees it (Celery's worker_main drops the code)."""
    (tmp_path / "broker" / "control").mkdir(parents=True)
    (tmp_path / "broker" / "control" / f"{queue_for('stealth')}.exchange").write_text('{"cut')
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROWSERQ_")}
    env.update(BROWSERQ_DATA_DIR=str(tmp_path), BROWSERQ_CHROMIUM_PATH=CHROMIUM)
    subprocess.run([sys.executable, "-m", "cli", "migrate"], env=env, check=True, capture_output=True, timeout=120)
    result = subprocess.run(
        [sys.executable, "-m", "cli", "worker", "--concurrency", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Unrecoverable error" in result.stdout + result.stderr
    assert result.returncode == 1

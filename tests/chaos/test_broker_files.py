"""The embedded broker's queue folder holding a file that is not a message (a
publisher's write cut short, a stray file): the worker sets it aside and goes
on taking tasks. With kombu's stock filesystem transport the worker stopped
("Unrecoverable error: JSONDecodeError") and every later task stayed created."""

from __future__ import annotations

import time

from tests.chaos.conftest import StackFactory
from tests.chaos.helpers import submit, wait_final
from tests.support.scripted_model import ScriptedModelServer, answer


def test_a_bad_file_in_the_queue_folder_leaves_the_worker_taking_tasks(
    make_stack: StackFactory, model: ScriptedModelServer
) -> None:
    stack = make_stack("embedded", workers=1, concurrency=1)
    queue = stack.data_dir / "broker" / "queue"
    (queue / "0_00000000-0000-0000-0000-000000000000.browserq.msg").write_bytes(b"")
    (queue / "00_00000000-0000-0000-0000-000000000001.browserq.msg").write_bytes(b'{"body": "cut sh')
    time.sleep(1)  # the worker polls every 0.1 s: it has read both by now
    with stack.client() as client:
        task = wait_final(client, submit(client, model.script([answer("Finish", {"done": {"text": "ok"}})])))
    assert task["status"] == "finished", task
    assert stack.worker_procs[0].poll() is None, stack.diagnosis()
    assert sorted(p.name[:2] for p in (stack.data_dir / "broker" / "corrupt").iterdir()) == ["00", "0_"]
    assert "is not a message" in stack.log("worker0")

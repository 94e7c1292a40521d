"""The same "run task X" message delivered several times (a broker redelivery,
a requeue racing the original): the first claim wins, every other delivery
does nothing, each step runs once, and a delivery after the end changes nothing."""

from __future__ import annotations

import pytest

from shared.browser_kinds import queue_for
from shared.celery_app import RUN_TASK, make_celery
from shared.settings import Settings
from tests.chaos.conftest import StackFactory
from tests.chaos.helpers import (
    assert_nothing_pending,
    assert_steps_contiguous,
    poll,
    slow_steps,
    steps_recorded,
    submit,
    wait_final,
)
from tests.support.scripted_model import ScriptedModelServer
from tests.support.stack import Stack

STEPS = 5


def _send(stack: Stack, task_id: str, times: int) -> None:
    """Publish the message straight to the stack's broker, as the API would."""
    settings = Settings(broker_url=stack.env.get("BROWSERQ_BROKER_URL"), data_dir=stack.data_dir)
    app = make_celery(settings)
    try:
        for _ in range(times):
            app.send_task(RUN_TASK, args=[task_id], queue=queue_for("stealth"))
    finally:
        app.close()


@pytest.mark.parametrize("kind", ["postgres", "embedded"])
def test_same_message_twice(kind: str, make_stack: StackFactory, model: ScriptedModelServer) -> None:
    stack = make_stack(kind, workers=2, concurrency=2)
    key = model.script(slow_steps(STEPS, delay=0.3))
    with stack.client() as client:
        task_id = submit(client, key)
        _send(stack, task_id, times=2)  # racing the first delivery
        poll("a step recorded", lambda: steps_recorded(client, task_id, 1), 30)
        _send(stack, task_id, times=2)  # while it runs under a live lease
        task = wait_final(client, task_id, timeout=60)
        assert task["status"] == "finished", task
        _send(stack, task_id, times=1)  # after the end
        poll("all five extra deliveries being skipped", lambda: _skips(stack, task_id) >= 5, 20)
        assert client.get(f"/task/{task_id}").json() == task
        assert_nothing_pending(client)
    assert_steps_contiguous(task)
    assert len(task["steps"]) == STEPS + 1
    assert model.calls(key)["count"] == STEPS + 1  # the model was asked once per step: nothing ran twice
    assert sum(_log_all(stack).count(f"task {task_id}: attempt {n} started") for n in (1, 2, 3)) == 1


def _log_all(stack: Stack) -> str:
    return "".join(stack.log(f"worker{i}") for i in range(len(stack.worker_procs)))


def _skips(stack: Stack, task_id: str) -> int:
    return _log_all(stack).count(f"task {task_id}: not claimable")

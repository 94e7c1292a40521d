"""A worker SIGKILLed mid-task (its whole process group, as when a container or
VM dies): the reaper takes the task back once the lease lapses, another worker
runs a new attempt that continues the step numbering with the earlier steps in
the model's history, and the task finishes once, on both deployments."""

from __future__ import annotations

import time

import pytest

from tests.chaos import procs
from tests.chaos.conftest import StackFactory
from tests.chaos.helpers import (
    assert_nothing_pending,
    assert_steps_contiguous,
    poll,
    slow_steps,
    steps_recorded,
    submit,
    wait_attempt,
    wait_final,
)
from tests.support.scripted_model import ScriptedModelServer

LEASE = 6  # tests/support/stack.py


@pytest.mark.parametrize("kind", ["postgres", "embedded"])
def test_sigkill_worker_mid_task(kind: str, make_stack: StackFactory, model: ScriptedModelServer) -> None:
    stack = make_stack(kind, workers=2, concurrency=1)
    key = model.script(slow_steps(8, delay=0.5))
    with stack.client() as client:
        task_id = submit(client, key)
        victim = wait_attempt(stack, task_id, 1, timeout=30)
        poll("two steps recorded", lambda: steps_recorded(client, task_id, 2), 30)
        doomed = procs.descendants(stack.worker_procs[victim].pid)
        assert any(procs.is_chromium(p) for p in doomed), "the worker runs no Chromium?"
        before = [s["step"] for s in client.get(f"/task/{task_id}").json()["steps"]]
        killed_at = time.monotonic()
        stack.kill_worker(victim)
        survivor = wait_attempt(stack, task_id, 2, timeout=LEASE + 15)
        took = time.monotonic() - killed_at
        print(f"\n[{kind}] SIGKILL -> attempt 2 running on worker{survivor}: {took:.1f} s (lease {LEASE} s)")
        assert survivor != victim
        task = wait_final(client, task_id, timeout=60)
    assert task["status"] == "finished", task
    assert task["output"] == "all steps done"
    assert_steps_contiguous(task)
    assert [s["step"] for s in task["steps"]][: len(before)] == before  # earlier steps kept as they were
    # The new attempt's model saw what the lost attempt had done.
    first_retry_prompt = _first_retry_prompt(model, key)
    assert "did step 1" in first_retry_prompt and "new attempt" in first_retry_prompt
    with stack.client() as client:
        assert_nothing_pending(client)
    leftover = procs.wait_gone([p for p in doomed if procs.is_chromium(p)], timeout=15)
    assert not leftover, f"Chromium outlived its SIGKILLed worker: {leftover}"


def _first_retry_prompt(model: ScriptedModelServer, key: str) -> str:
    """The first request of the new attempt: the only ones that say so."""
    for request in model.calls(key)["requests"]:
        text = str(request)
        if "new attempt" in text:
            return text
    return ""

"""A worker that fails itself (not the agent): here it cannot start Chromium. The task
is tried again at once, max_attempts times in all, then fails with an output that says
so; the slot is free again and nothing waits for a lease to run out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.scripted_model import ScriptedModelServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def no_browser_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    env = {"BROWSERQ_CHROMIUM_PATH": "/nonexistent/chromium", "BROWSERQ_LEASE_SECONDS": "600"}
    stack = Stack(kind="embedded", model_base_url=model.base_url, env_extra=env, concurrency=1)
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_a_worker_error_is_retried_then_fails_the_task(no_browser_stack: Stack, model: ScriptedModelServer) -> None:
    key = model.script([])
    with no_browser_stack.client() as client:
        response = client.post("/run-task", json={"task": f"Open a page [script:{key}]"})
        assert response.status_code == 200, response.text
        task_id = response.json()["id"]
        # A lease of 600 s: only the worker's own hand-back can bring the task to a second attempt in time.
        task = wait_for(client, task_id, {"failed", "finished", "stopped"}, timeout=60)
        assert task["status"] == "failed", task
        assert task["output"] == (
            "Failed: the worker hit an internal error on each of 3 attempts (the last: playwright Error); "
            "the worker's log has the details."
        ), task["output"]
        assert task["steps"] == []
    log = no_browser_stack.log("worker0")
    assert log.count("failed in the worker") == 3, log[-3000:]
    assert log.count("handed back for another attempt") == 2
    assert model.calls(key)["count"] == 0

"""What every chaos test checks and builds: scripts of slow steps, waiting on
logs and steps, and the end state (one final status, steps 1..n, nothing
left running or queued)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.scripted_model import answer
from tests.support.stack import Stack, poll

FINAL = {"finished", "failed", "stopped"}


def slow_steps(count: int, delay: float, output: str = "all steps done") -> list[dict[str, Any]]:
    """`count` steps that each make the model think `delay` s, then `done`: a task
    long enough to be killed in the middle of."""
    steps = [
        {"_delay": delay, "reply": answer(f"step {i}", {"wait": {"seconds": 0.05}}, memory=f"did step {i}")}
        for i in range(1, count + 1)
    ]
    return [*steps, answer("finish", {"done": {"text": output}})]


def wait_workers_ready(stack: Stack, timeout: float = 90) -> None:
    """Celery says `ready.` once it consumes: only then does a test's clock start
    (a loaded machine can take many seconds to start a worker)."""
    for i in range(len(stack.worker_procs)):
        poll(f"worker{i} becoming ready", lambda i=i: stack.log(f"worker{i}").count(" ready.") >= 1, timeout)


def submit(client: httpx.Client, key: str, **fields: object) -> str:
    response = client.post("/run-task", json={"task": f"Chaos test task [script:{key}]", **fields})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def steps_recorded(client: httpx.Client, task_id: str, at_least: int) -> dict | None:
    task = client.get(f"/task/{task_id}").json()
    return task if len(task.get("steps") or []) >= at_least else None


def wait_final(client: httpx.Client, task_id: str, timeout: float = 60) -> dict:
    return poll(
        f"task {task_id} reaching a final status",
        lambda: (t := client.get(f"/task/{task_id}").json())["status"] in FINAL and t,
        timeout,
    )


def assert_steps_contiguous(task: dict) -> None:
    numbers = [s["step"] for s in task["steps"]]
    assert numbers == list(range(1, len(numbers) + 1)), f"steps not 1..n: {numbers}"


def assert_nothing_pending(client: httpx.Client) -> None:
    """No task is left running, paused or queued."""
    for status in ("running", "created", "paused"):
        body = client.get("/tasks", params={"status": status, "limit": 100}).json()
        assert body["total_count"] == 0, f"tasks left {status}: {body['tasks']}"


def wait_attempt(stack: Stack, task_id: str, attempt: int, timeout: float) -> int:
    """Wait until a worker's log says it started this attempt; returns that worker's index."""
    found = poll(
        f"attempt {attempt} of task {task_id} starting",
        lambda: (i := stack.worker_running(task_id, attempt)) is not None and [i],
        timeout,
    )
    return found[0]

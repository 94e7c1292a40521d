"""Budgets, rate limits and the cap on running tasks, through HTTP against a
real PostgreSQL + Redis stack: 402 past the budget, 429 with Retry-After past
the rate, and tasks over the cap waiting in `created` (never refused)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
RATE = 120


@pytest.fixture(scope="module")
def limits_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    stack = Stack(
        kind="postgres",
        model_base_url=model.base_url,
        env_extra={
            "BROWSERQ_RATE_LIMIT_PER_MINUTE": str(RATE),
            "BROWSERQ_MAX_RUNNING_TASKS_PER_KEY": "1",
        },
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def new_key(stack: Stack, *args: str) -> str:
    return stack.cli("keys", "create", *args).strip().splitlines()[-1]


def status_of(client: httpx.Client, task_id: str) -> str:
    """The task's status, waiting out a 429 as a polite client would."""
    while True:
        response = client.get(f"/task/{task_id}/status")
        if response.status_code != 429:
            return response.json()
        time.sleep(float(response.headers["Retry-After"]))


def wait_status(client: httpx.Client, task_id: str, statuses: set[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (status := status_of(client, task_id)) in statuses:
            return status
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} did not reach {statuses}")


def test_budget_balance_and_402(limits_stack: Stack, model: ScriptedModelServer) -> None:
    key = new_key(limits_stack, "budgeted", "--budget", "0.01")
    # gpt-4.1 costs $2 per million input tokens and $8 per million output tokens.
    script = model.script(
        [{**answer("Finish", {"done": {"text": "ok"}}), "_usage": {"input_tokens": 1_000_000, "output_tokens": 1000}}]
    )
    with limits_stack.client(key) as client:
        assert client.get("/balance").json() == {"balance": "1"}  # $0.01: whole credits, as a string
        task_id = client.post("/run-task", json={"task": f"Spend [script:{script}]"}).json()["id"]
        assert wait_status(client, task_id, FINAL) == "finished"
        # 1 - 200.8 credits: one model call, the task's only step.
        assert model.calls(script)["count"] == 1
        assert client.get("/balance").json() == {"balance": "0"}  # 1 - 200.8 credits: never below 0
        refused = client.post("/run-task", json={"task": "one more"})
        assert refused.status_code == 402 and "budget" in refused.json()["detail"]
        assert (
            client.post(
                "/scheduled-task", json={"task": "later", "schedule_type": "interval", "interval_minutes": 5}
            ).status_code
            == 402
        )
        limits_stack.cli("keys", "budget", key[:10], "10")
        assert client.get("/balance").json() == {"balance": "799"}  # 1000 - 200.8, rounded down
        again = model.script([answer("Finish", {"done": {"text": "ok"}})])
        assert client.post("/run-task", json={"task": f"Again [script:{again}]"}).status_code == 200
    with limits_stack.client(new_key(limits_stack, "no-budget")) as client:
        assert client.get("/balance").json() == {"balance": "1000000000"}  # no budget: no limit


def test_a_running_task_stops_when_its_key_runs_out_of_budget(limits_stack: Stack, model: ScriptedModelServer) -> None:
    """The budget is checked before each step too, not only at run-task: a task whose
    first step used up its key's budget asks the model nothing more and fails saying why."""
    key = new_key(limits_stack, "spends-midway", "--budget", "0.01")
    script = model.script(
        [
            {**answer("Wait", {"wait": {"seconds": 0}}), "_usage": {"input_tokens": 1_000_000, "output_tokens": 0}},
            answer("Finish", {"done": {"text": "should not get here"}}),
        ]
    )
    with limits_stack.client(key) as client:
        task_id = client.post("/run-task", json={"task": f"Spend [script:{script}]"}).json()["id"]
        assert wait_status(client, task_id, FINAL) == "failed"
        task = client.get(f"/task/{task_id}").json()
    assert task["output"].startswith("Failed: This API key has used its budget (spent $2.0000 of $0.0100)"), task
    assert [s["step"] for s in task["steps"]] == [1]
    assert model.calls(script)["count"] == 1


def test_rate_limit_answers_429_with_retry_after(limits_stack: Stack) -> None:
    with limits_stack.client(new_key(limits_stack, "chatty")) as client:
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:  # in parallel, so a slow machine still outruns the refill
            codes = list(pool.map(lambda _: client.get("/me"), range(2 * RATE)))
        refilled = (time.monotonic() - started) * RATE / 60
        ok = [r for r in codes if r.status_code == 200]
        limited = [r for r in codes if r.status_code == 429]
        assert RATE <= len(ok) <= RATE + refilled + 1, (len(ok), refilled)
        assert limited, "no request was limited"
        retry_after = int(limited[0].headers["Retry-After"])
        assert 1 <= retry_after <= 60 and "retry in" in limited[0].json()["detail"]
        time.sleep(retry_after)
        assert client.get("/me").status_code == 200
        with limits_stack.client() as other:  # the limit is per key
            assert other.get("/me").status_code == 200


def test_tasks_over_the_running_cap_wait_and_then_run(limits_stack: Stack, model: ScriptedModelServer) -> None:
    slow = [{"_delay": 3.0, "reply": answer("Finish", {"done": {"text": "done"}})}]
    with limits_stack.client(new_key(limits_stack, "capped")) as client:
        first, second = (
            client.post("/run-task", json={"task": f"Slow [script:{model.script(slow)}]"}).json()["id"]
            for _ in range(2)
        )
        wait_status(client, first, {"running"})
        seen = set()
        while (a := status_of(client, first)) not in FINAL:
            b = status_of(client, second)
            seen.add((a, b))
            assert b == "created", (a, b)  # a worker slot is free, but the key's one slot is taken
            time.sleep(0.3)
        assert a == "finished" and ("running", "created") in seen
        assert wait_status(client, second, FINAL, timeout=60) == "finished"
    # The waiting task was not busy-looping through the queue meanwhile.
    skipped = [line for line in limits_stack.log("worker0").splitlines() if second in line and "not claimable" in line]
    assert 1 <= len(skipped) <= 2, skipped  # refused once at the cap, then sent again only when a slot freed

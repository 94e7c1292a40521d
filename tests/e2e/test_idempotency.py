"""Idempotency-Key on run-task, v1 and v2: a retried submit gets the same task,
even when the retries race; the same key with another body is a 422 saying so;
keys belong to one API key (another tenant's same string is its own)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def _count(client: httpx.Client) -> int:
    return client.get("/tasks").json()["total_count"]


def test_a_retried_submit_gets_the_same_task(stack: Stack, model: ScriptedModelServer) -> None:
    key_b = stack.cli("keys", "create", "idem-b").strip().splitlines()[-1]
    script = model.script([answer("Finish", {"done": {"text": "once"}})])
    body = {"task": f"Say once [script:{script}]", "metadata": {"order": "1"}}
    with stack.client() as client, stack.client(key_b) as other:
        before = _count(client)
        first = client.post("/run-task", json=body, headers={"Idempotency-Key": "order-1"})
        assert first.status_code == 200, first.text
        again = client.post(
            "/run-task",
            json={"metadata": {"order": "1"}, "task": body["task"]},  # same body
            headers={"Idempotency-Key": "order-1"},
        )
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"], again.text
        assert _count(client) == before + 1

        changed = client.post(
            "/run-task", json={**body, "task": "something else"}, headers={"Idempotency-Key": "order-1"}
        )
        assert changed.status_code == 422, changed.text
        detail = changed.json()["detail"]
        assert detail[0]["loc"] == ["header", "Idempotency-Key"] and "another body" in detail[0]["msg"], detail
        assert first.json()["id"] in detail[0]["msg"]

        fresh = client.post("/run-task", json=body, headers={"Idempotency-Key": "order-2"})
        assert fresh.status_code == 200 and fresh.json()["id"] != first.json()["id"]
        theirs = other.post("/run-task", json=body, headers={"Idempotency-Key": "order-1"})
        assert theirs.status_code == 200 and theirs.json()["id"] not in {first.json()["id"], fresh.json()["id"]}
        assert client.post("/run-task", json=body, headers={"Idempotency-Key": "x" * 256}).status_code == 422


def test_racing_retries_make_one_task(stack: Stack) -> None:
    body = {"task": "race", "llm_model": "gpt-4.1"}
    with stack.client() as client:
        before = _count(client)

        def submit(_: int) -> str:
            with stack.client() as c:
                response = c.post("/run-task", json=body, headers={"Idempotency-Key": "race-1"})
                assert response.status_code == 200, response.text
                return response.json()["id"]

        with ThreadPoolExecutor(6) as pool:
            ids = set(pool.map(submit, range(6)))
        assert len(ids) == 1, ids
        assert _count(client) == before + 1


def test_v2_takes_the_key_too(stack: Stack) -> None:
    headers = {"X-Browser-Use-API-Key": stack.key, "Idempotency-Key": "v2-order"}
    url = f"{stack.url}/api/v2/tasks"
    first = httpx.post(url, json={"task": "v2 once"}, headers=headers)
    assert first.status_code == 200, first.text
    again = httpx.post(url, json={"task": "v2 once"}, headers=headers)
    assert again.json()["id"] == first.json()["id"]
    other = httpx.post(url, json={"task": "v2 other"}, headers=headers)
    assert other.status_code == 422 and "another body" in other.text, other.text
    # v1 with the same key and an equivalent body is another route's request: refused, not mixed up.
    v1 = httpx.post(
        f"{stack.url}/api/v1/run-task",
        json={"task": "v2 once"},
        headers={"Authorization": f"Bearer {stack.key}", "Idempotency-Key": "v2-order"},
    )
    assert v1.status_code == 422, v1.text

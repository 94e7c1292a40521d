"""The official Python SDK (`browser-use-sdk` 2.0, which speaks the v2 API
only), pointed at a running browserq, drives real tasks: create, wait for the
result, read the output and steps, list, stop. Nothing here speaks v2 by hand
except the auth check, so a shape the SDK cannot read fails these tests."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from browser_use_sdk import BrowserUse
from browser_use_sdk.core.api_error import ApiError
from pydantic import BaseModel

from tests.e2e.test_tasks_api import login_script
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import ACCOUNT_CODE, PASSWORD, SiteServer
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def sdk(stack: Stack, key: str | None = None) -> BrowserUse:
    return BrowserUse(api_key=key or stack.key, base_url=f"{stack.url}/api/v2", timeout=30)


def complete(created: Any, timeout: float = 60) -> Any:
    """The SDK's own wait (`watch`, which `complete` is built on), bounded so a hang fails the test."""
    deadline = time.monotonic() + timeout
    for state in created.watch(interval=0.2):
        if state.status in {"finished", "stopped", "paused"}:
            return state
        assert time.monotonic() < deadline, f"the task did not end in {timeout}s: {state}"
    raise AssertionError("watch ended without a final state")


class Code(BaseModel):
    code: str


def test_sdk_creates_a_task_and_reads_its_finished_output(
    stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    key = model.script(login_script(site))
    client = sdk(stack)
    created = client.tasks.create_task(
        task=f"Log in and read the account code [script:{key}]",
        llm="gpt-4.1",
        max_steps=10,
        secrets={"password": PASSWORD},
        metadata={"ref": "sdk"},
    )
    assert created.session_id == created.id
    task = created.complete(interval=0.2)  # the SDK's own wait
    assert task.status == "finished" and task.is_success is True
    assert task.output == ACCOUNT_CODE
    assert [s.number for s in task.steps] == [1, 2, 3]
    assert json.loads(task.steps[0].actions[0]) == {"navigate": {"url": f"{site.url}/login", "new_tab": False}}
    assert task.steps[2].url == f"{site.url}/account"
    assert task.metadata == {"ref": "sdk"} and task.llm == "gpt-4.1" and task.finished_at is not None
    assert client.tasks.get_task_status(created.id).status == "finished"
    # The same task, read through v1.
    with stack.client() as v1:
        assert v1.get(f"/task/{created.id}").json()["output"] == ACCOUNT_CODE


def test_sdk_structured_output_and_listing(pg_stack: Stack, model: ScriptedModelServer) -> None:
    key = model.script([answer("Report", {"done": {"data": {"code": "XYZ-1"}}})])
    client = sdk(pg_stack)
    created = client.tasks.create_task(task=f"Report the code [script:{key}]", schema=Code)
    task = complete(created)
    assert task.parsed_output == Code(code="XYZ-1")
    listed = client.tasks.list_tasks(page_size=100, filter_by="finished")
    assert created.id in [t.id for t in listed.items]
    item = next(t for t in listed.items if t.id == created.id)
    assert item.status == "finished" and item.is_success is True and listed.page_number == 1
    assert listed.total_items >= 1 and listed.page_size == 100
    assert created.id not in [t.id for t in client.tasks.list_tasks(filter_by="stopped").items]
    made = task.created_at.replace(tzinfo=None)  # the SDK sends naive datetimes, meant as UTC
    assert [t.id for t in client.tasks.list_tasks(after=made, page_size=100).items] == [created.id]
    assert created.id not in [t.id for t in client.tasks.list_tasks(before=made, page_size=100).items]


def test_sdk_failed_task_ends_finished_unsuccessful(pg_stack: Stack, model: ScriptedModelServer) -> None:
    """v2 has no `failed`: the SDK's complete() would wait forever for one."""
    key = model.script([answer("Wait", {"wait": {"seconds": 0.1}})] * 3)
    task = sdk(pg_stack).tasks.create_task(task=f"Loop [script:{key}]", max_steps=2)
    task = complete(task)
    assert task.status == "finished" and task.is_success is False
    assert "step limit" in (task.output or "")


def test_sdk_stops_a_running_task(pg_stack: Stack, model: ScriptedModelServer) -> None:
    key = model.script([{"_delay": 30.0, "reply": answer("Finish", {"done": {"text": "too late"}})}])
    client = sdk(pg_stack)
    created = client.tasks.create_task(task=f"Think slowly [script:{key}]")
    deadline = time.monotonic() + 30
    while client.tasks.get_task(created.id).status != "started":
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.1)
    stopped = client.tasks.update_task(created.id, action="stop")
    assert stopped.status == "stopped" and stopped.finished_at is not None
    assert complete(created).status == "stopped"


def test_sdk_errors(pg_stack: Stack) -> None:
    with pytest.raises(ApiError) as wrong_key:
        sdk(pg_stack, key="bq_not-a-key").tasks.list_tasks()
    assert wrong_key.value.status_code == 401
    client = sdk(pg_stack)
    with pytest.raises(ApiError) as missing:
        client.tasks.get_task("no-such-task")
    assert missing.value.status_code == 404
    with pytest.raises(ApiError) as bad:
        client.tasks.create_task(task="x", max_steps=500)
    assert bad.value.status_code == 422 and bad.value.body["detail"][0]["loc"] == ["body", "maxSteps"]
    with pytest.raises(ApiError) as session:
        client.tasks.create_task(task="x", session_id="abc")
    assert session.value.status_code == 422


def test_ping_answers_a_valid_key_as_the_v2_n8n_nodes_credential_test_asks(pg_stack: Stack) -> None:
    """The v2 n8n node's "Test credential" is GET {base}/ping with its key header
    (credentials/BrowserUseApi.credentials.ts): 200 for a browserq key, 401 otherwise."""
    ping = f"{pg_stack.url}/api/v2/ping"
    assert httpx.get(ping, headers={"X-Browser-Use-API-Key": pg_stack.key}, timeout=10).json() == {}
    assert httpx.get(ping, headers={"X-Browser-Use-API-Key": "bq_not-a-key"}, timeout=10).status_code == 401
    assert httpx.get(ping, timeout=10).status_code == 401

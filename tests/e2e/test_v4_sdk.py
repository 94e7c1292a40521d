"""browser-use-sdk 3.12's v4 client (its README's quickstart: `from browser_use_sdk.v4
import BrowserUse`), pointed at a running browserq, drives real runs: create, wait for
completion, get, events, cancel, list, attachments, with a judge and with a cost cap.
Nothing here speaks v4 by hand, so a shape the SDK validates and browserq gets wrong
fails these tests. v2's judge fields are checked at the end, over the same tasks."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest
from browser_use_sdk.v4 import BrowserUse, BrowserUseError

from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack, poll

pytestmark = pytest.mark.e2e
PAGE = "<!doctype html><html><head><title>Shop</title></head><body><h1>Price: 42 EUR</h1></body></html>"
SCHEMA = {"type": "object", "properties": {"price": {"type": "integer"}}, "required": ["price"]}
VERDICT = {
    "verdict": True,
    "reasoning": "The page shows 42 and the run reported 42.",
    "failure_reason": None,
    "_usage": {"input_tokens": 800, "output_tokens": 40},
}


def v4(stack: Stack) -> BrowserUse:
    return BrowserUse(api_key=stack.key, base_url=f"{stack.url}/api/v4", timeout=30)


def test_v4_client_runs_judges_lists_and_reads_events(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    url = site.add_page("v4-shop", PAGE)
    key = model.script(
        [
            answer("Open the shop", {"navigate": {"url": url}}),
            answer("Save and report", {"write_file": {"file_name": "price.txt", "content": "42"}}),
            answer("Report", {"done": {"data": {"price": 42}, "success": True}}),
            VERDICT,
        ]
    )
    with v4(pg_stack) as client:
        created = client.runs.create(
            f"Read the price [script:{key}]",
            model="gpt-4.1",
            output_schema=SCHEMA,
            judge={"context": "The price is 42 EUR."},
            max_cost_usd="1.50",
        )
        assert created.status.value == "queued" and created.model == "gpt-4.1"
        assert str(created.session_id) == str(created.id) and created.events_url.endswith(f"/runs/{created.id}/events")
        run = client.runs.wait_for_completion(created.id, timeout=90, interval=0.2)

        assert run.status.value == "completed" and run.output == {"price": 42} and run.output_schema == SCHEMA
        assert run.result == '{"price": 42}' and run.error is None
        assert run.judgement is not None and run.judgement["verdict"] is True
        assert run.judgement["reasoning"].startswith("The page shows 42") and run.judgement["model"] == "gpt-4.1"
        # three steps at the scripted default (100 in / 20 out) plus the judge's call, at gpt-4.1's $2 / $8
        assert (run.total_input_tokens, run.total_output_tokens) == (300 + 800, 60 + 40)
        assert Decimal(run.total_cost_usd) == (Decimal(1100) * 2 + Decimal(100) * 8) / 1_000_000
        assert run.created_at.tzinfo is not None and run.updated_at >= run.created_at
        assert client.runs.status(created.id).status.value == "completed"
        assert client.runs.get(created.id) == run

        events = client.runs.events(created.id)
        kinds = [e.type for e in events.events]
        assert kinds == ["run.created", "browser.ready", "agent.step", "agent.step", "agent.step", "run.completed"]
        ids = [e.id for e in events.events]
        assert ids == sorted(set(ids)) and events.next_after == ids[-1] and events.has_more is False
        ready = client.runs.wait_for_event(created.id, "browser.ready", timeout=10, interval=0.1)
        assert ready.data["liveUrl"] is None or "/live/" in ready.data["liveUrl"]
        assert events.events[2].data["url"] == url or events.events[3].data["url"] == url
        assert events.events[-1].data["judgement"]["verdict"] is True
        tail = client.runs.events(created.id, after=ids[2], limit=2)
        assert [e.id for e in tail.events] == ids[3:5] and tail.has_more is True and tail.next_after == ids[4]

        files = client.runs.attachments(created.id).attachments
        assert [(f.name, f.size_bytes, f.status.value) for f in files] == [("price.txt", 2, "uploaded")]

        second = client.runs.create(f"Nothing [script:{model.script([])}]")
        client.runs.wait_for_completion(second.id, timeout=90, interval=0.2)
        first_page = client.runs.list(limit=1)
        assert [str(r.id) for r in first_page.runs] == [str(second.id)] and first_page.has_more is True
        after = client.runs.list(limit=1, cursor=first_page.next_cursor)
        assert [str(r.id) for r in after.runs] == [str(created.id)]
        assert [str(r.id) for r in client.runs.list(session_id=created.session_id).runs] == [str(created.id)]

    # The same task through v2: the judge's verdict and its report, as JSON text.
    headers = {"X-Browser-Use-API-Key": pg_stack.key}
    v2 = httpx.get(f"{pg_stack.url}/api/v2/tasks/{created.id}", headers=headers, timeout=30).json()
    assert v2["judgeVerdict"] is True and json.loads(v2["judgement"])["verdict"] is True
    # v2's own judge fields: judge and judgeGroundTruth in, judgeVerdict and judgement out.
    wrong = {**VERDICT, "verdict": False, "failure_reason": "41 is not 42"}
    v2_key = model.script([answer("Report", {"done": {"text": "41"}}), wrong])
    body = {"task": f"Price? [script:{v2_key}]", "judge": True, "judgeGroundTruth": "The price is 42."}
    made = httpx.post(f"{pg_stack.url}/api/v2/tasks", json=body, headers=headers, timeout=30).json()

    def judged() -> dict | None:
        task = httpx.get(f"{pg_stack.url}/api/v2/tasks/{made['id']}", headers=headers, timeout=30).json()
        return task if task["status"] == "finished" else None

    task = poll("the v2 task to finish", judged, timeout=90)
    assert task["judgeVerdict"] is False and json.loads(task["judgement"])["failureReason"] == "41 is not 42"
    assert "The price is 42." in json.dumps(model.calls(v2_key)["requests"][1])


def test_v4_client_cost_cap_and_cancel(pg_stack: Stack, model: ScriptedModelServer) -> None:
    heavy = {**answer("Wait", {"wait": {"seconds": 0}}), "_usage": {"input_tokens": 100_000, "output_tokens": 1_000}}
    capped_key = model.script([heavy] * 5)
    slow_key = model.script([{"_delay": 30.0, "reply": answer("Finish", {"done": {"text": "too late"}})}])
    with v4(pg_stack) as client:
        capped = client.runs.create(f"Spend [script:{capped_key}]", model="gpt-4.1", max_cost_usd=0.5)
        slow = client.runs.create(f"Think slowly [script:{slow_key}]", model="gpt-4.1")

        run = client.runs.wait_for_completion(capped.id, timeout=90, interval=0.2)
        assert run.status.value == "failed" and run.result is None
        assert run.error is not None and "cost cap" in run.error and "$0.5" in run.error
        assert Decimal(run.total_cost_usd) == Decimal("0.416") <= Decimal("0.5")  # two calls of $0.208, not three
        assert model.calls(capped_key)["count"] == 2
        assert client.runs.events(capped.id).events[-1].type == "run.failed"

        deadline = time.monotonic() + 30
        while client.runs.status(slow.id).status.value != "running":
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.1)
        client.runs.cancel(slow.id)
        done = client.runs.wait_for_completion(slow.id, timeout=30, interval=0.2)
        assert done.status.value == "cancelled" and done.error == "Stopped by the user."
        assert client.runs.cancel(slow.id).status.value == "cancelled"  # a second cancel changes nothing
        assert client.runs.events(slow.id).events[-1].type == "run.cancelled"


@pytest.mark.parametrize(
    ("fields", "where", "needle"),
    [
        ({"session_id": "6f1c2a34-0000-4000-8000-000000000000"}, ["body", "sessionId"], "own session"),
        ({"op_vault_id": "vault"}, ["body", "opVaultId"], "1Password"),
        ({"agentmail": True}, ["body", "agentmail"], "AgentMail"),
        (
            {"browser_settings": {"customProxy": {"host": "p", "port": 1}}},
            ["body", "browserSettings", "customProxy"],
            "proxies",
        ),
        (
            {"browser_settings": {"proxyCountryCode": "zz"}},
            ["body", "browserSettings", "proxyCountryCode"],
            "must be one of",
        ),
        ({"max_cost_usd": "-1"}, ["body", "maxCostUsd"], "more than 0"),
        ({"model": "no-such-model"}, ["body", "model"], "no-such-model"),
        ({"not_a_field": 1}, ["body", "not_a_field"], "Extra inputs"),
    ],
)
def test_v4_refuses_what_browserq_cannot_honour(pg_stack: Stack, fields: dict, where: list, needle: str) -> None:
    with v4(pg_stack) as client, pytest.raises(BrowserUseError) as refused:
        client.runs.create("x", **fields)
    assert refused.value.status_code == 422
    detail = refused.value.detail["detail"]
    assert detail[0]["loc"] == where and needle in detail[0]["msg"], detail

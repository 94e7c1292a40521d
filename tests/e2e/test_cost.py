"""Every task's cost, end to end: the scripted model reports its usage, and the
task (v1 view, list, v2), the final webhook event, `browserq tasks` and
/metrics show those tokens at the price table's prices, growing step by step;
a model with no price shows its tokens and `usd: null`, and a price set in
BROWSERQ_MODEL_PRICES overrides the shipped one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_client_cli import bq, cli_env
from tests.e2e.test_ops import scrape, total
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack, poll, wait_for
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
USAGE = [(1000, 200), (3000, 500), (1500, 100)]
# USD per million tokens: gpt-4.1 as shipped, gpt-4o-mini overridden, local-llama without a price.
PRICES = {"gpt-4.1": (2.0, 8.0), "gpt-4o-mini": (1.0, 3.0)}


def usd(model: str, input_tokens: int, output_tokens: int) -> float:
    inp, out = PRICES[model]
    return round((input_tokens * inp + output_tokens * out) / 1_000_000, 8)


@pytest.fixture(scope="module")
def cost_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    env = {
        "BROWSERQ_MODELS": json.dumps({"local-llama": {"provider": "openai", "model": "llama3.1"}}),
        "BROWSERQ_MODEL_PRICES": json.dumps({"gpt-4o-mini": {"input": 1.0, "output": 3.0}}),
    }
    stack = Stack(kind="postgres", model_base_url=model.base_url, env_extra=env)
    try:
        yield stack.start()
    finally:
        stack.stop()


def scripted(model: ScriptedModelServer, site: SiteServer, pause: float = 0.0) -> str:
    """Three steps whose usage is USAGE; with `pause`, step 2's answer comes that late."""
    (i1, o1), (i2, o2), (i3, o3) = USAGE
    second = answer("Wait", {"wait": {"seconds": 0}})
    return model.script(
        [
            {
                **answer("Open the site", {"navigate": {"url": site.url}}),
                "_usage": {"input_tokens": i1, "output_tokens": o1},
            },
            {"_delay": pause, "reply": {**second, "_usage": {"input_tokens": i2, "output_tokens": o2}}},
            {**answer("Finish", {"done": {"text": "ok"}}), "_usage": {"input_tokens": i3, "output_tokens": o3}},
        ]
    )


def test_cost_grows_per_step_and_every_view_carries_it(
    cost_stack: Stack, model: ScriptedModelServer, site: SiteServer, tmp_path: Path
) -> None:
    key = scripted(model, site, pause=4.0)
    with WebhookReceiver() as receiver, cost_stack.client() as client:
        assert client.put("/webhook", json={"url": receiver.url("/cost")}).status_code == 200
        task_id = client.post("/run-task", json={"task": f"Cost [script:{key}]"}).json()["id"]
        # Step 2's answer comes 4 s late: meanwhile the task shows step 1's cost.
        first = poll(
            "step 1's cost",
            lambda: t if (t := client.get(f"/task/{task_id}").json())["cost"]["input_tokens"] else None,
            timeout=90,
        )
        assert first["status"] == "running" and len(first["steps"]) == 1
        assert first["cost"] == {"input_tokens": 1000, "output_tokens": 200, "usd": usd("gpt-4.1", 1000, 200)}
        task = wait_for(client, task_id, FINAL, timeout=120)
        listed = next(t for t in client.get("/tasks", params={"limit": 100}).json()["tasks"] if t["id"] == task_id)
        got = receiver.wait_for(
            "/cost", lambda got: any(r.body.get("payload", {}).get("status") == "finished" for r in got)
        )
    assert task["status"] == "finished", task
    expected = {"input_tokens": 5500, "output_tokens": 800, "usd": usd("gpt-4.1", 5500, 800)}
    assert expected["usd"] == 0.0174
    assert task["cost"] == listed["cost"] == expected
    final = next(r.body["payload"] for r in got if r.body.get("payload", {}).get("status") == "finished")
    assert final["cost"] == expected
    assert all(
        "cost" not in r.body.get("payload", {}) for r in got if r.body.get("payload", {}).get("status") != "finished"
    )

    v2 = {"X-Browser-Use-API-Key": cost_stack.key}
    view = httpx.get(f"{cost_stack.url}/api/v2/tasks/{task_id}", headers=v2).json()
    assert view["cost"] == "0.0174"
    assert view["costDetail"] == {"inputTokens": 5500, "outputTokens": 800, "usd": 0.0174}
    status = httpx.get(f"{cost_stack.url}/api/v2/tasks/{task_id}/status", headers=v2).json()
    assert status["cost"] == "0.0174" and status["costDetail"]["inputTokens"] == 5500
    items = httpx.get(f"{cost_stack.url}/api/v2/tasks", headers=v2).json()["items"]
    assert next(i for i in items if i["id"] == task_id)["costDetail"] == view["costDetail"]


def test_unpriced_models_show_tokens_and_null_and_prices_can_be_overridden(
    cost_stack: Stack, model: ScriptedModelServer, site: SiteServer, tmp_path: Path
) -> None:
    ids: dict[str, str] = {}
    with cost_stack.client() as client:
        for llm in ("local-llama", "gpt-4o-mini"):
            key = scripted(model, site)
            ids[llm] = client.post("/run-task", json={"task": f"Cost [script:{key}]", "llm_model": llm}).json()["id"]
        tasks = {llm: wait_for(client, task_id, FINAL, timeout=120) for llm, task_id in ids.items()}
    assert tasks["local-llama"]["cost"] == {"input_tokens": 5500, "output_tokens": 800, "usd": None}
    assert tasks["gpt-4o-mini"]["cost"] == {
        "input_tokens": 5500,
        "output_tokens": 800,
        "usd": usd("gpt-4o-mini", 5500, 800),
    }
    v2 = httpx.get(
        f"{cost_stack.url}/api/v2/tasks/{ids['local-llama']}", headers={"X-Browser-Use-API-Key": cost_stack.key}
    ).json()
    assert v2["cost"] is None and v2["costDetail"] == {"inputTokens": 5500, "outputTokens": 800, "usd": None}

    # `browserq tasks`: a cost column, the tokens where there is no price.
    out = bq(cli_env(cost_stack, tmp_path, COLUMNS="200"), "tasks", "--limit", "100")
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines() if line.split()}
    assert "cost" in out.stdout.splitlines()[0]
    assert "6,300 tok" in rows[ids["local-llama"]]
    assert f"${usd('gpt-4o-mini', 5500, 800):.4f}" in rows[ids["gpt-4o-mini"]]


def test_metrics_have_tokens_and_cost_by_model(cost_stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    with cost_stack.client() as client:
        key = scripted(model, site)
        task_id = client.post("/run-task", json={"task": f"Cost [script:{key}]", "llm_model": "local-llama"}).json()[
            "id"
        ]
        wait_for(client, task_id, FINAL, timeout=120)
        listing = httpx.get(
            f"{cost_stack.url}/api/v2/tasks",
            params={"pageSize": 100},
            headers={"X-Browser-Use-API-Key": cost_stack.key},
        ).json()["items"]
    samples = scrape(cost_stack)
    for llm in {item["llm"] for item in listing}:
        mine = [i["costDetail"] for i in listing if i["llm"] == llm]
        inp, out = sum(c["inputTokens"] for c in mine), sum(c["outputTokens"] for c in mine)
        assert total(samples, "browserq_task_tokens", model=llm, kind="input") == inp
        assert total(samples, "browserq_task_tokens", model=llm, kind="output") == out
        cost = [(n, ls) for (n, ls) in samples if n == "browserq_task_cost_usd" and ("model", llm) in ls]
        if llm in PRICES:
            assert total(samples, "browserq_task_cost_usd", model=llm) == pytest.approx(usd(llm, inp, out))
        else:
            assert cost == []  # no price: no made-up number


def test_a_cost_cap_needs_a_price_and_a_judged_task_costs_its_judge_too(
    cost_stack: Stack, model: ScriptedModelServer
) -> None:
    """v1's extensions: max_cost_usd is refused for a model with no price (it could not be
    checked); judge: true adds the judge's tokens, at the judge model's price, to the cost."""
    with cost_stack.client() as client:
        refused = client.post("/run-task", json={"task": "x", "llm_model": "local-llama", "max_cost_usd": 1})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "max_cost_usd"]
        assert "needs a price for 'local-llama'" in refused.json()["detail"][0]["msg"]
        verdict = {"verdict": True, "reasoning": "fine", "_usage": {"input_tokens": 4000, "output_tokens": 100}}
        key = model.script([answer("Finish", {"done": {"text": "ok"}}), verdict])
        body = {"task": f"Judge me [script:{key}]", "judge": True, "judge_llm": "gpt-4o-mini", "max_cost_usd": 1}
        task = wait_for(client, client.post("/run-task", json=body).json()["id"], FINAL, timeout=120)
    assert task["judgement"]["verdict"] is True and task["judgement"]["model"] == "gpt-4o-mini"
    # the step at gpt-4.1's price (100 in / 20 out, the scripted default), the judge at gpt-4o-mini's
    assert task["cost"] == {
        "input_tokens": 4100,
        "output_tokens": 120,
        "usd": round(usd("gpt-4.1", 100, 20) + usd("gpt-4o-mini", 4000, 100), 8),
    }

"""Replay: a finished task's recorded actions run again without the model,
elements found by their description; on a changed page the model takes over
at the first step that does not match."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.test_tasks_api import FINAL, login_script, submit
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import ACCOUNT_CODE, PASSWORD, SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
MODEL_LATENCY = 5.0  # seconds each scripted answer of the original takes (load on a 2-core box slows both runs alike)


def run_seconds(task: dict) -> float:
    parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
    return (parse(task["finished_at"]) - parse(task["created_at"])).total_seconds()


def test_replay_finishes_without_the_model_in_under_half_the_time(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    key = model.script([{"_delay": MODEL_LATENCY, "reply": r} for r in login_script(site)])
    with pg_stack.client() as client:
        original = wait_for(client, submit(client, key, secrets={"password": PASSWORD}), FINAL)
        assert original["status"] == "finished" and model.calls(key)["count"] == 3
        response = client.post(f"/task/{original['id']}/replay")
        assert response.status_code == 200, response.text
        replay = wait_for(client, response.json()["id"], FINAL)
    assert replay["status"] == "finished", replay
    assert replay["output"] == ACCOUNT_CODE and replay["replay_of"] == original["id"]
    assert model.calls(key)["count"] == 3  # not one model call
    assert replay["steps"][2]["url"] == f"{site.url}/account"  # really logged in again, secret typed
    assert [s["next_goal"] for s in replay["steps"]] == [s["next_goal"] for s in original["steps"]]
    print(
        f"original {run_seconds(original):.2f} s (steps {[s['duration_ms'] for s in original['steps']]} ms), "
        f"replay {run_seconds(replay):.2f} s (steps {[s['duration_ms'] for s in replay['steps']]} ms)"
    )
    assert run_seconds(replay) < run_seconds(original) / 2


FORM = '<h1>Order</h1><p>Ready.</p><a href="/p/replay-noise">Help</a> <a href="/p/replay-done">{label}</a>'


def test_replay_on_a_changed_page_hands_over_at_the_mismatching_step(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    site.add_page("replay-done", "<h1>Thanks</h1><p>Order placed.</p>")
    form = site.add_page("replay-form", FORM.format(label="Continue"))
    key = model.script(
        [
            answer("Open the form", {"navigate": {"url": form}}),
            answer("Continue", {"click": {"index": "@text:Continue"}}),
            answer("Report", {"done": {"text": "placed"}}),
            # Only the replay reaches these: the model's answers from the step that no longer matches.
            answer("The button is now called Proceed", {"click": {"index": "@text:Proceed"}}),
            answer("Report", {"done": {"text": "placed via the model"}}),
        ]
    )
    with pg_stack.client() as client:
        original = wait_for(client, submit(client, key), FINAL)
        assert original["output"] == "placed"
        site.add_page("replay-form", "<p>New layout</p>" + FORM.format(label="Proceed"))
        replay = wait_for(client, client.post(f"/task/{original['id']}/replay").json()["id"], FINAL)
    assert replay["status"] == "finished" and replay["output"] == "placed via the model", replay
    calls = model.calls(key)
    assert calls["count"] == 5 and not calls["unresolved"]
    assert "Step 2 of at most" in str(calls["requests"][3]["messages"])  # step 1 was replayed, step 2 was not
    assert replay["steps"][1]["next_goal"] == "The button is now called Proceed"


def test_only_finished_tasks_replay(pg_stack: Stack, model: ScriptedModelServer) -> None:
    key = model.script([answer("Loop", {"wait": {"seconds": 0.1}})] * 2)
    with pg_stack.client() as client:
        failed = wait_for(client, submit(client, key, max_agent_steps=1), FINAL)
        assert failed["status"] == "failed"
        conflict = client.post(f"/task/{failed['id']}/replay")
        assert conflict.status_code == 409 and "finished" in conflict.json()["detail"]
        assert client.post("/task/no-such-task/replay").status_code == 404

"""How a run ends: structured output checked against its schema (and sent back
when invalid), and every limit (consecutive failures, steps, the step and the
task time limits, a model that keeps failing) ending the task `failed` with an
output that names the limit and what the agent had found."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.support.scripted_model import ScriptedModelServer, answer, message_texts
from tests.support.site import SiteServer
from tests.support.stack import Stack, poll, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
SCHEMA = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "items": {"type": "integer", "minimum": 1}},
    "required": ["code", "items"],
    "additionalProperties": False,
}


def run(stack: Stack, key: str, timeout: float = 90, **fields: object) -> dict:
    with stack.client() as client:
        response = client.post("/run-task", json={"task": f"Do it [script:{key}]", **fields})
        assert response.status_code == 200, response.text
        return wait_for(client, response.json()["id"], FINAL, timeout=timeout)


def prompts(model: ScriptedModelServer, key: str) -> list[str]:
    return ["\n".join(message_texts(body, "user")) for body in model.calls(key)["requests"]]


def offered_actions(request: dict) -> list[str]:
    """The action names the request's response_format schema allows."""
    schema = request["response_format"]["json_schema"]["schema"]
    return [next(iter(v["properties"])) for v in schema["properties"]["action"]["items"]["anyOf"]]


@pytest.fixture(scope="module")
def timed_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    """Short step and task time limits."""
    env = {"BROWSERQ_STEP_TIMEOUT_SECONDS": "3", "BROWSERQ_TASK_TIMEOUT_SECONDS": "8"}
    stack = Stack(kind="embedded", model_base_url=model.base_url, env_extra=env)
    try:
        yield stack.start()
    finally:
        stack.stop()


# -- structured output -------------------------------------------------------------


@pytest.mark.parametrize("as_string", [True, False])
def test_structured_output_is_validated_and_sent_back(
    stack: Stack, model: ScriptedModelServer, site: SiteServer, as_string: bool
) -> None:
    key = model.script(
        [
            answer("Read the page", {"navigate": {"url": f"{site.url}/long"}}, memory="code CODE-END-7"),
            answer("Finish", {"done": {"data": {"code": "CODE-END-7", "items": "300"}}}),
            answer("Finish again", {"done": {"text": "no data"}}),
            answer("Finish properly", {"done": {"data": {"code": "CODE-END-7", "items": 300}}}),
        ]
    )
    schema = json.dumps(SCHEMA) if as_string else SCHEMA
    task = run(stack, key, structured_output_json=schema)
    assert task["status"] == "finished", task
    assert json.loads(task["output"]) == {"code": "CODE-END-7", "items": 300}
    p = prompts(model, key)
    assert json.dumps(SCHEMA) in p[0]  # the model was shown the schema
    # ... and the provider was given it as done's `data` type, to enforce where it can
    fmt = model.calls(key)["requests"][0]["response_format"]["json_schema"]["schema"]
    variants = fmt["properties"]["action"]["items"]["anyOf"]
    done = next(v["properties"]["done"] for v in variants if "done" in v["properties"])
    assert done["properties"]["data"] == SCHEMA
    assert "error: 'data' is not valid against the output schema at items: '300' is not of type 'integer'" in p[2]
    assert "error: done needs 'data' valid against the output schema" in p[3]


# -- limits ------------------------------------------------------------------------------


def test_consecutive_failures_end_the_task(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    key = model.script(
        [
            answer("Open", {"navigate": {"url": site.url}}, memory="the shop's home page is open"),
            answer("Click", {"click": {"index": "@text:no such thing"}}, {"click": {"index": 424242}}),
            answer("Click again", {"click": {"index": 424243}}),
        ]
    )
    task = run(stack, key)
    assert task["status"] == "failed", task
    assert task["output"] == (
        "Failed: 3 actions in a row failed (the limit is 3). "
        "What the agent had found so far: the shop's home page is open"
    )


def test_step_limit_and_the_last_step_offers_only_done(
    stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    key = model.script(
        [
            answer("Open", {"navigate": {"url": site.url}}, memory="home page open"),
            answer("Wait", {"wait": {"seconds": 0}}, memory="still looking for the code"),
        ]
    )
    task = run(stack, key, max_agent_steps=2)
    assert task["status"] == "failed", task
    assert task["output"] == (
        "Failed: reached the step limit of 2 steps without finishing. "
        "What the agent had found so far: still looking for the code"
    )
    requests = model.calls(key)["requests"]
    assert len(requests) == 2
    assert "done" in offered_actions(requests[0]) and "navigate" in offered_actions(requests[0])
    assert offered_actions(requests[1]) == ["done"]
    assert "This is the last step: you must call done now" in prompts(model, key)[1]


def test_step_time_limit(timed_stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    key = model.script(
        [
            answer("Open", {"navigate": {"url": site.url}}, memory="the home page says Welcome"),
            {"_delay": 6.0, "reply": answer("Finish", {"done": {"text": "too late"}})},
        ]
    )
    task = run(timed_stack, key)
    assert task["status"] == "failed", task
    assert task["output"] == (
        "Failed: step 2 took longer than the step time limit of 3 s. "
        "What the agent had found so far: the home page says Welcome"
    )


def test_task_time_limit(timed_stack: Stack, model: ScriptedModelServer) -> None:
    wait = answer("Wait a bit", {"wait": {"seconds": 0.5}}, memory="waited")
    key = model.script([{"_repeat": 20, "reply": wait}])
    task = run(timed_stack, key)
    assert task["status"] == "failed", task
    assert (
        task["output"]
        == "Failed: the task took longer than its time limit of 8 s. What the agent had found so far: waited"
    )
    assert 2 <= len(task["steps"]) < 20


def test_time_paused_does_not_count_against_the_time_limits(
    timed_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    """Paused mid-step for longer than both limits (3 s a step, 8 s a task), the task goes on
    and does the step's action once resumed: a pause is bounded by max_pause_seconds alone."""
    key = model.script(
        [
            answer("Open", {"navigate": {"url": f"{site.url}/login"}}),
            {"_delay": 1.0, "reply": answer("Type the user", {"input": {"index": "@text:Username", "text": "bob"}})},
            answer("Finish", {"done": {"text": "after the pause"}}),
        ]
    )
    with timed_stack.client() as client:
        response = client.post("/run-task", json={"task": f"Do it [script:{key}]"})
        task_id = response.json()["id"]
        poll("step 2's model call", lambda: model.calls(key)["count"] >= 2, timeout=30)
        assert client.put("/pause-task", params={"task_id": task_id}).status_code == 200
        time.sleep(9)
        assert client.get(f"/task/{task_id}/status").json() == "paused"
        assert client.put("/resume-task", params={"task_id": task_id}).status_code == 200
        task = wait_for(client, task_id, FINAL, timeout=30)
    assert task["status"] == "finished" and task["output"] == "after the pause", task
    assert "value=bob" in prompts(model, key)[2]  # the planned action ran after the pause


# -- the model failing --------------------------------------------------------------------


def test_transient_model_errors_are_retried(stack: Stack, model: ScriptedModelServer) -> None:
    key = model.script(
        [
            {"_status": 500},
            {"_status": 429},
            {"_raw": "I think I should click"},
            answer("Finish", {"done": {"text": "recovered"}}),
        ]
    )
    task = run(stack, key)
    assert task["status"] == "finished", task
    assert task["output"] == "recovered"
    requests = model.calls(key)["requests"]
    assert len(requests) == 4
    correction = message_texts(requests[3], "user")[-1]
    assert correction.startswith("Your last answer was not valid: the answer is not a JSON object")


def test_a_model_that_keeps_failing_fails_the_task(stack: Stack, model: ScriptedModelServer) -> None:
    down = model.script([{"_repeat": 4, "reply": {"_status": 503, "_message": "overloaded"}}])
    garbled = model.script([{"_raw": "not json"}, {"_raw": '{"action": []}'}])
    down_task, garbled_task = run(stack, down), run(stack, garbled)
    assert down_task["status"] == "failed"
    assert down_task["output"].startswith("Failed: the model could not be reached after 4 attempts:")
    assert "HTTP 503: overloaded" in down_task["output"]
    assert garbled_task["status"] == "failed"
    assert garbled_task["output"].startswith(
        "Failed: the model's answer was not valid for the agent protocol after a retry:"
    )
    assert "1 to 5 actions" in garbled_task["output"]

"""A caller's schema cannot stall a worker: its patterns are matched by RE2 (no
catastrophic backtracking) off the event loop, so a ReDoS pattern beside
another key's task leaves that task's run as it is, on one worker process
running both. Patterns RE2 cannot take are refused at submit, saying why."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.scripted_model import ScriptedModelServer, answer, message_texts
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
REDOS = {
    "type": "object",
    "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}},
    "required": ["code"],
    "patternProperties": {"^(x|x)*$": {"type": "string"}},
}


def test_a_redos_pattern_beside_another_keys_task(pg_stack: Stack, model: ScriptedModelServer) -> None:
    key_b = pg_stack.cli("keys", "create", "tenant-b").strip().splitlines()[-1]
    evil = model.script(
        [
            answer("Finish", {"done": {"data": {"code": "a" * 40 + "!", "x" * 40 + "!": "y"}}}),
            answer("Finish again", {"done": {"data": {"code": "a" * 40}}}),
        ]
    )
    plain = model.script([answer("Finish", {"done": {"text": "b done"}})])
    with pg_stack.client() as a, pg_stack.client(key_b) as b:
        evil_id = a.post("/run-task", json={"task": f"x [script:{evil}]", "structured_output_json": REDOS}).json()["id"]
        started = time.monotonic()
        plain_id = b.post("/run-task", json={"task": f"y [script:{plain}]"}).json()["id"]
        plain_task = wait_for(b, plain_id, FINAL, timeout=60)
        plain_seconds = time.monotonic() - started
        evil_task = wait_for(a, evil_id, FINAL, timeout=60)
    assert plain_task["status"] == "finished" and plain_task["output"] == "b done", plain_task
    assert evil_task["status"] == "finished", evil_task
    assert json.loads(evil_task["output"]) == {"code": "a" * 40}
    second_prompt = "\n".join(message_texts(model.calls(evil)["requests"][1]))
    assert "does not match '^(a+)+$'" in second_prompt, second_prompt[-2000:]
    # One attempt each: no lease was lost to a blocked event loop (the old code lost it and ran the task again).
    worker_log = pg_stack.log("worker0")
    assert f"task {evil_id}: attempt 2" not in worker_log and f"task {plain_id}: attempt 2" not in worker_log
    print(f"the other key's one-step task took {plain_seconds:.2f} s beside the ReDoS task")


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        ({"type": "string", "pattern": "(a)\\1"}, "not supported"),
        ({"type": "string", "pattern": "(?=a)b"}, "lookaround"),
        ({"type": "object", "patternProperties": {"(?!x)": {}}}, "not supported"),
        ({"type": "object", "patternProperties": {"^a": {}}, "unevaluatedProperties": False}, "unevaluatedProperties"),
        ({"type": "string", "pattern": "a" * 1001}, "longer than 1000"),
    ],
)
def test_patterns_browserq_cannot_bound_are_refused_at_submit(stack: Stack, schema: dict, says: str) -> None:
    with stack.client() as client:
        for route, body in [
            ("/run-task", {"task": "x", "structured_output_json": schema}),
            (
                "/scheduled-task",
                {"task": "x", "structured_output_json": schema, "schedule_type": "interval", "interval_minutes": 60},
            ),
        ]:
            response = client.post(route, json=body)
            assert response.status_code == 422, response.text
            detail = response.json()["detail"]
            assert any("structured_output_json" in d["loc"] and says in d["msg"] for d in detail), detail

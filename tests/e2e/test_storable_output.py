"""What the model writes is stored whatever it contains: a NUL (PostgreSQL text
cannot hold one) in its answer no longer loses the task."""

from __future__ import annotations

import pytest

from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e


def test_nul_and_surrogates_in_the_models_answer_are_stored(stack: Stack, model: ScriptedModelServer) -> None:
    key = model.script(
        [
            answer("Look\x00 around", {"scroll": {"down": True}}, memory="seen\x00 it", evaluation="ok\x00"),
            answer("Report", {"done": {"text": "the code is 12\x0034"}}),
        ]
    )
    with stack.client() as client:
        response = client.post("/run-task", json={"task": f"Say the code [script:{key}]", "max_agent_steps": 2})
        assert response.status_code == 200, response.text
        task = wait_for(client, response.json()["id"], {"finished", "failed", "stopped"})
    assert task["status"] == "finished", task
    assert task["output"] == "the code is 1234"
    assert [s["step"] for s in task["steps"]] == [1, 2]  # each step stored once: no retried attempt
    first = task["steps"][0]
    assert (first["next_goal"], first["memory"], first["evaluation_previous_goal"]) == ("Look around", "seen it", "ok")

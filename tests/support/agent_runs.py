"""A scripted task run through the API, and reading back what the agent showed the model:
the prompts it sent, their history, their page and its element lines. Shared by the agent
e2e tests (tests/e2e/test_agent_*.py)."""

from __future__ import annotations

from tests.support.scripted_model import ELEMENT_LINE, ScriptedModelServer, message_texts
from tests.support.stack import Stack, wait_for

FINAL = {"finished", "failed", "stopped"}


def run(stack: Stack, key: str, **fields: object) -> dict:
    """Submit a task the scripted model answers with script `key` (and any other fields of
    /run-task) and wait for it to end; returns the task."""
    with stack.client() as client:
        response = client.post("/run-task", json={"task": f"Use the page [script:{key}]", **fields})
        assert response.status_code == 200, response.text
        return wait_for(client, response.json()["id"], FINAL, timeout=90)


def finished_run(stack: Stack, model: ScriptedModelServer, key: str, requests: int) -> tuple[dict, list[str]]:
    """`run`, which must finish after `requests` requests to the model, every `@text:` index of
    the script found in the prompt it answered; returns the task and its prompts."""
    task = run(stack, key)
    assert task["status"] == "finished", task
    sent = prompts(model, key)
    assert len(sent) == requests, f"{len(sent)} requests to the model, not {requests}"
    assert model.calls(key)["unresolved"] == []
    return task, sent


def prompts(model: ScriptedModelServer, key: str) -> list[str]:
    """The user message of each request the model received, in order."""
    return ["\n".join(message_texts(body, "user")) for body in model.calls(key)["requests"]]


def history_of(prompt: str) -> str:
    return prompt.split("<history>", 1)[1].split("</history>", 1)[0]


def page_of(prompt: str) -> str:
    return prompt.split("<browser_state>", 1)[1]


def element_lines(prompt: str) -> list[str]:
    """The element lines of a prompt's page, without their indices and new-marks."""
    return [m.group(2) for m in map(ELEMENT_LINE.match, page_of(prompt).splitlines()) if m]

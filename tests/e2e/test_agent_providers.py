"""A stack set up as a stricter operator would: Anthropic's protocol (served by
the scripted model at ANTHROPIC_BASE_URL), a short model timeout with one
retry, and private hosts allowed only for "127.0.0.1" (so "localhost", the
same loopback address by another name, must be blocked)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.scripted_model import ScriptedModelServer, answer, message_texts
from tests.support.site import ACCOUNT_CODE, PASSWORD, USERNAME, SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
CLAUDE = "claude-sonnet-4-20250514"


@pytest.fixture(scope="module")
def strict_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    env = {
        "ANTHROPIC_BASE_URL": model.anthropic_base_url,
        "ANTHROPIC_API_KEY": "test-key",
        "BROWSERQ_MODEL_TIMEOUT_SECONDS": "1",
        "BROWSERQ_MODEL_RETRIES": "1",
        "BROWSERQ_ALLOW_PRIVATE_HOSTS": '["127.0.0.1:*"]',
    }
    stack = Stack(kind="embedded", model_base_url=model.base_url, env_extra=env)
    try:
        yield stack.start()
    finally:
        stack.stop()


def run(stack: Stack, key: str, **fields: object) -> dict:
    with stack.client() as client:
        response = client.post("/run-task", json={"task": f"Do it [script:{key}]", **fields})
        assert response.status_code == 200, response.text
        return wait_for(client, response.json()["id"], FINAL, timeout=90)


def test_anthropic_protocol_drives_the_browser(
    strict_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    key = model.script(
        [
            {"_status": 529, "_message": "overloaded"},  # retried
            answer("Open the login page", {"navigate": {"url": f"{site.url}/login"}}),
            answer(
                "Log in",
                {"input": {"index": "@text:Username", "text": USERNAME}},
                {"input": {"index": "@text:Password", "text": "<secret>password</secret>"}},
                {"click": {"index": "@text:Sign in"}},
            ),
            answer("Report", {"done": {"text": ACCOUNT_CODE}}),
        ]
    )
    task = run(strict_stack, key, llm_model=CLAUDE, secrets={"password": PASSWORD}, max_agent_steps=3)
    assert task["status"] == "finished", task
    assert task["output"] == ACCOUNT_CODE
    requests = model.calls(key)["requests"]
    assert len(requests) == 4
    first = requests[0]
    assert first["model"] == CLAUDE and "You are a browser agent" in first["system"]
    assert first["tool_choice"] == {"type": "tool", "name": "agent_output"}
    assert "<task>" in message_texts(first, "user")[0]
    # The last allowed step (3) offers only `done`, through the tool's input schema.
    variants = requests[3]["tools"][0]["input_schema"]["properties"]["action"]["items"]["anyOf"]
    assert [next(iter(v["properties"])) for v in variants] == ["done"]
    assert ACCOUNT_CODE in message_texts(requests[3], "user")[0]
    assert PASSWORD not in str(requests)


def test_model_timeout_is_retried_then_fails(strict_stack: Stack, model: ScriptedModelServer) -> None:
    slow = answer("Finish", {"done": {"text": "too slow"}})
    key = model.script([{"_delay": 3.0, "reply": slow}, {"_delay": 3.0, "reply": slow}])
    task = run(strict_stack, key)
    assert task["status"] == "failed", task
    assert task["output"].startswith("Failed: the model could not be reached after 2 attempts:")
    assert "did not answer in time" in task["output"]
    assert model.calls(key)["count"] == 2


def test_loopback_by_another_name_is_blocked(strict_stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    target = "agent-by-name"
    site.add_page(target, "<title>Reached</title>")
    by_name = f"http://localhost:{site.port}/p/{target}"
    page = site.add_page("agent-by-name-links", f'<title>Links</title><a href="{by_name}">By name</a>')
    key = model.script(
        [
            answer("Open", {"navigate": {"url": page}}),
            answer("Follow", {"click": {"index": "@text:By name"}}),
            answer("Go directly", {"navigate": {"url": by_name}}),
            answer("Finish", {"done": {"text": "ok"}}),
        ]
    )
    task = run(strict_stack, key)
    assert task["status"] == "finished", task
    assert site.hits.get(target) is None  # no request reached the site by that name
    prompts = ["\n".join(message_texts(r, "user")) for r in model.calls(key)["requests"]]
    private = (
        "localhost is a private, loopback or link-local address, which is never connected to"
        f" unless BROWSERQ_ALLOW_PRIVATE_HOSTS lists it for port {site.port}"
    )
    assert f"Event: Blocked the navigation to {by_name}: {private}" in prompts[2]
    assert f"error: cannot open {by_name}: {private}" in prompts[3]

"""The scripted model server answers the official SDKs the way real providers
do, so the rest of the suite can trust it as a stand-in."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.support.scripted_model import UNRESOLVED_INDEX, ScriptedModelServer, find_element_index, marker

REPO = Path(__file__).resolve().parents[2]
PAGE = """Task: log in [script:{key}]
Welcome to the shop
[3]<a href=/>Home</a>
*[7]<input type=text name=user placeholder="User name" />
[12]<button type=submit>Log in</button>
[13]<a href=/help>Help with Log in</a>
"""


def answer(*actions: dict) -> dict:
    return {"evaluation_previous_goal": "ok", "memory": "m", "next_goal": "g", "action": list(actions)}


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


def openai_client(model: ScriptedModelServer, timeout: float = 10) -> openai.OpenAI:
    return openai.OpenAI(base_url=model.base_url, api_key="test", max_retries=0, timeout=timeout)


def anthropic_client(model: ScriptedModelServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=model.anthropic_base_url, api_key="test", max_retries=0, timeout=10)


def ask_openai(model: ScriptedModelServer, key: str, timeout: float = 10) -> openai.types.chat.ChatCompletion:
    return openai_client(model, timeout).chat.completions.create(
        model="gpt-4.1",
        messages=[{"role": "system", "content": "rules"}, {"role": "user", "content": PAGE.format(key=key)}],
    )


def ask_anthropic(model: ScriptedModelServer, key: str, tools: bool = False) -> anthropic.types.Message:
    extra: dict = {}
    if tools:
        extra = {
            "tools": [{"name": "agent_output", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "tool", "name": "agent_output"},
        }
    return anthropic_client(model).messages.create(
        model="claude-sonnet-4-20250514",
        max_tokens=1000,
        system="rules",
        messages=[{"role": "user", "content": [{"type": "text", "text": PAGE.format(key=key)}]}],
        **extra,
    )


def content_json(completion: openai.types.chat.ChatCompletion) -> dict:
    return json.loads(completion.choices[0].message.content)


def test_openai_sdk_gets_replies_in_order_then_done(model: ScriptedModelServer) -> None:
    key = model.script([answer({"navigate": {"url": "https://a.test"}}), answer({"go_back": {}})])
    first, second, third = (ask_openai(model, key) for _ in range(3))
    assert content_json(first)["action"] == [{"navigate": {"url": "https://a.test"}}]
    assert content_json(second)["action"] == [{"go_back": {}}]
    assert content_json(third)["action"] == [{"done": {"text": "script exhausted", "success": False}}]
    assert first.usage.prompt_tokens == 100 and first.usage.completion_tokens == 20
    assert first.choices[0].finish_reason == "stop"


def test_openai_sdk_lists_models(model: ScriptedModelServer) -> None:
    assert [m.id for m in openai_client(model).models.list()] == ["scripted"]


def test_anthropic_sdk_gets_text_block(model: ScriptedModelServer) -> None:
    key = model.script([answer({"click": {"index": 3}})])
    message = ask_anthropic(model, key)
    assert message.content[0].type == "text"
    assert json.loads(message.content[0].text)["action"] == [{"click": {"index": 3}}]
    assert (message.usage.input_tokens, message.usage.output_tokens) == (100, 20)


def test_anthropic_sdk_gets_tool_use_when_tools_are_offered(model: ScriptedModelServer) -> None:
    key = model.script([answer({"click": {"index": 3}})])
    message = ask_anthropic(model, key, tools=True)
    block = message.content[0]
    assert block.type == "tool_use" and block.name == "agent_output"
    assert block.input["action"] == [{"click": {"index": 3}}]
    assert message.stop_reason == "tool_use"


def test_text_references_resolve_to_element_indices(model: ScriptedModelServer) -> None:
    key = model.script(
        [answer({"input": {"index": "@text:User name", "text": "bob"}}, {"click": {"index": "@text:Log in"}})]
    )
    actions = content_json(ask_openai(model, key))["action"]
    assert actions == [{"input": {"index": 7, "text": "bob"}}, {"click": {"index": 12}}]


def test_unresolved_text_reference_is_reported(model: ScriptedModelServer) -> None:
    key = model.script([answer({"click": {"index": "@text:Checkout"}})])
    assert content_json(ask_openai(model, key))["action"] == [{"click": {"index": UNRESOLVED_INDEX}}]
    assert model.calls(key)["unresolved"] == ["@text:Checkout"]


def test_find_element_index_matches_whole_line_after_index() -> None:
    assert find_element_index(PAGE, "type=submit") == 12
    assert find_element_index(PAGE, "help with log in") == 13
    assert find_element_index(PAGE, "Welcome") is None  # plain text, not an element line


@pytest.mark.parametrize("status, error", [(500, openai.InternalServerError), (429, openai.RateLimitError)])
def test_status_directive_answers_http_error(model: ScriptedModelServer, status: int, error: type) -> None:
    key = model.script([{"_status": status}, answer({"go_back": {}})])
    with pytest.raises(error) as info:
        ask_openai(model, key)
    if status == 429:
        assert info.value.response.headers["retry-after"] == "0"
    assert content_json(ask_openai(model, key))["action"] == [{"go_back": {}}]


def test_status_directive_in_anthropic_format(model: ScriptedModelServer) -> None:
    key = model.script([{"_status": 401}])
    with pytest.raises(anthropic.AuthenticationError):
        ask_anthropic(model, key)


def test_raw_directive_answers_text(model: ScriptedModelServer) -> None:
    key = model.script([{"_raw": "not json at all"}, {"_raw": "still not"}])
    assert ask_openai(model, key).choices[0].message.content == "not json at all"
    message = ask_anthropic(model, key, tools=True)
    assert message.content[0].type == "text" and message.content[0].text == "still not"


def test_delay_directive_outlasts_client_timeout(model: ScriptedModelServer) -> None:
    key = model.script([{"_delay": 1.0, "reply": answer({"go_back": {}})}, answer({"wait": {"seconds": 1}})])
    with pytest.raises(openai.APITimeoutError):
        ask_openai(model, key, timeout=0.3)
    # The delayed reply was spent on the call that timed out: the next call gets the next reply.
    assert content_json(ask_openai(model, key))["action"] == [{"wait": {"seconds": 1}}]
    assert model.calls(key)["count"] == 2


def test_repeat_directive_and_usage_override(model: ScriptedModelServer) -> None:
    reply = {**answer({"go_back": {}}), "_usage": {"input_tokens": 7, "output_tokens": 3}}
    key = model.script([{"_repeat": 2, "reply": reply}])
    completions = [ask_openai(model, key) for _ in range(3)]
    assert [content_json(c)["action"][0] for c in completions[:2]] == [{"go_back": {}}] * 2
    assert "_usage" not in content_json(completions[0])
    assert (completions[0].usage.prompt_tokens, completions[0].usage.completion_tokens) == (7, 3)
    assert content_json(completions[2])["action"][0]["done"]["text"] == "script exhausted"


def test_calls_record_raw_bodies_and_reset(model: ScriptedModelServer) -> None:
    key = model.script([answer({"go_back": {}})])
    ask_openai(model, key)
    calls = model.calls(key)
    assert calls["count"] == 1
    assert calls["requests"][0]["messages"][1]["content"] == PAGE.format(key=key)
    model.reset(key)
    assert model.calls(key)["count"] == 0


def test_request_without_script_gets_done(model: ScriptedModelServer) -> None:
    key = "never-registered"
    assert "no script registered" in content_json(ask_openai(model, key))["action"][0]["done"]["text"]
    assert marker("abc") == "[script:abc]"


def test_runs_as_a_separate_process() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.scripted_model", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        remote = ScriptedModelServer(url=url).start()
        key = remote.script([answer({"go_back": {}})])
        assert httpx.get(f"{url}/_health", timeout=5).json() == {"ok": True}
        assert content_json(ask_openai(remote, key))["action"] == [{"go_back": {}}]
        assert remote.calls(key)["count"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)

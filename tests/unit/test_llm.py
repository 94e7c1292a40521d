"""The model providers and `ask_model`, against the scripted model server over
real HTTP: what reaches the model, what comes back, and how failures end."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from shared.settings import ModelRoute, Settings
from tests.support.scripted_model import ScriptedModelServer
from worker.agent.protocol import response_json_schema
from worker.llm.ask import ask_model, extract_json
from worker.llm.base import ModelError, ModelRequest, TokenUsage
from worker.llm.registry import model_unavailable_reason, resolve_model

OPENAI, ANTHROPIC, GEMINI = "gpt-4.1", "claude-sonnet-4-20250514", "gemini-2.5-flash"
JPEG = b"\xff\xd8\xff\xe0fake-screenshot"
NO_KEYS: dict[str, Any] = {
    "OPENAI_API_KEY": None,
    "OPENAI_BASE_URL": None,
    "ANTHROPIC_API_KEY": None,
    "ANTHROPIC_BASE_URL": None,
    "GEMINI_API_KEY": None,
    "models": {},
}


def answer(*actions: dict, **usage: int) -> dict:
    reply: dict = {"evaluation_previous_goal": "ok", "memory": "m", "next_goal": "g", "action": list(actions)}
    return {**reply, "_usage": usage} if usage else reply


GO_BACK = answer({"go_back": {}})


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as scripted:
        yield scripted


def settings_for(server: ScriptedModelServer, **overrides: Any) -> Settings:
    """Every provider pointed at the scripted server, with fast retries."""
    values = {
        **NO_KEYS,
        "OPENAI_BASE_URL": server.base_url,
        "ANTHROPIC_BASE_URL": server.anthropic_base_url,
        "GEMINI_API_KEY": "test-gemini-key",
        "GEMINI_BASE_URL": server.base_url,
        "model_retries": 2,
        "model_retry_base_delay": 0.01,
        "model_timeout_seconds": 5.0,
        **overrides,
    }
    return Settings(**values)


def request_for(key: str, screenshot: bytes | None = None) -> ModelRequest:
    user = f"Task: log in [script:{key}]\n[1]<a href=/>Home</a>\n[2]<button type=submit>Log in</button>"
    return ModelRequest(
        system="You drive a browser.", user=user, response_schema=response_json_schema(), screenshot_jpeg=screenshot
    )


def ask(server: ScriptedModelServer, llm_model: str, replies: list[dict], **overrides: Any) -> tuple[Any, str]:
    """Script the replies, ask once through the registry; return (result, key)."""
    settings = settings_for(server, **overrides)
    key = server.script(replies)
    result = asyncio.run(ask_model(resolve_model(llm_model, settings), request_for(key), settings))
    return result, key


def body_text(body: dict) -> str:
    return json.dumps(body)


both_providers = pytest.mark.parametrize("llm_model", [OPENAI, ANTHROPIC])


@both_providers
def test_valid_answer_is_parsed(server: ScriptedModelServer, llm_model: str) -> None:
    (output, usage), key = ask(server, llm_model, [answer({"click": {"index": "@text:Log in"}})])
    assert [a.as_wire() for a in output.action] == [{"click": {"index": 2}}]
    assert output.evaluation_previous_goal == "ok"
    assert usage == TokenUsage(100, 20)
    assert server.calls(key)["count"] == 1


@both_providers
@pytest.mark.parametrize(
    "raw",
    [
        '```json\n{"action": [{"go_back": {}}]}\n```',
        'Sure! Here is my answer:\n{"action": [{"go_back": {}}]}\nHope that helps.',
    ],
)
def test_fenced_or_wrapped_json_is_accepted(server: ScriptedModelServer, llm_model: str, raw: str) -> None:
    (output, _), key = ask(server, llm_model, [{"_raw": raw}])
    assert output.action[0].name == "go_back"
    assert server.calls(key)["count"] == 1


@both_providers
@pytest.mark.parametrize("status", [500, 429, 503])
def test_transient_http_errors_are_retried(server: ScriptedModelServer, llm_model: str, status: int) -> None:
    (output, _), key = ask(server, llm_model, [{"_status": status}, GO_BACK])
    assert output.action[0].name == "go_back"
    assert server.calls(key)["count"] == 2


@both_providers
def test_transient_errors_give_up_after_the_configured_attempts(server: ScriptedModelServer, llm_model: str) -> None:
    with pytest.raises(ModelError, match="could not be reached after 3 attempts: .*HTTP 500"):
        ask(server, llm_model, [{"_repeat": 5, "reply": {"_status": 500}}])


@both_providers
def test_invalid_json_is_corrected_once(server: ScriptedModelServer, llm_model: str) -> None:
    (output, usage), key = ask(server, llm_model, [{"_raw": "not json at all"}, GO_BACK])
    assert output.action[0].name == "go_back"
    calls = server.calls(key)
    assert calls["count"] == 2
    assert "not valid" not in body_text(calls["requests"][0])
    second = body_text(calls["requests"][1])
    assert "Your last answer was not valid" in second and "not a JSON object" in second
    assert "not json at all" in second


@both_providers
def test_protocol_violation_correction_shows_the_validation_error(server: ScriptedModelServer, llm_model: str) -> None:
    (output, _), key = ask(server, llm_model, [answer({"fly": {"to": "moon"}}), GO_BACK])
    assert output.action[0].name == "go_back"
    assert "unknown action 'fly'" in body_text(server.calls(key)["requests"][1])


@both_providers
def test_invalid_twice_is_a_model_error(server: ScriptedModelServer, llm_model: str) -> None:
    with pytest.raises(ModelError, match="not valid for the agent protocol after a retry: .*not a JSON object"):
        ask(server, llm_model, [{"_raw": "nope"}, {"_raw": "still nope"}, GO_BACK])


@both_providers
def test_timeout_is_retried(server: ScriptedModelServer, llm_model: str) -> None:
    slow = {"_delay": 1.5, "reply": GO_BACK}
    (output, _), key = ask(server, llm_model, [slow, answer({"wait": {"seconds": 1}})], model_timeout_seconds=0.3)
    assert output.action[0].name == "wait"
    assert server.calls(key)["count"] == 2


@both_providers
def test_timeouts_until_retries_run_out_are_a_model_error(server: ScriptedModelServer, llm_model: str) -> None:
    slow = {"_repeat": 2, "reply": {"_delay": 1.5, "reply": GO_BACK}}
    with pytest.raises(ModelError, match="could not be reached after 2 attempts: .*did not answer in time"):
        ask(server, llm_model, [slow], model_timeout_seconds=0.3, model_retries=1)


@both_providers
def test_token_usage_is_summed_over_attempts(server: ScriptedModelServer, llm_model: str) -> None:
    invalid = {"_raw": "oops", "_usage": {"input_tokens": 1000, "output_tokens": 7}}
    valid = answer({"go_back": {}}, input_tokens=1100, output_tokens=30)
    (_, usage), _ = ask(server, llm_model, [{"_status": 500}, invalid, valid])
    assert usage == TokenUsage(2100, 37)


@both_providers
def test_rejected_key_is_not_retried_and_says_what_to_fix(server: ScriptedModelServer, llm_model: str) -> None:
    env = "OPENAI_API_KEY" if llm_model == OPENAI else "ANTHROPIC_API_KEY"
    with pytest.raises(ModelError, match=f"rejected the API key \\(HTTP 401\\): check {env}") as info:
        ask(server, llm_model, [{"_status": 401}, GO_BACK])
    assert "could not be reached" not in str(info.value)


@both_providers
def test_bad_request_is_not_retried(server: ScriptedModelServer, llm_model: str) -> None:
    settings = settings_for(server)
    key = server.script([{"_status": 400, "_message": "no such param"}, GO_BACK])
    with pytest.raises(ModelError, match=r"rejected the request \(HTTP 400\): no such param"):
        asyncio.run(ask_model(resolve_model(llm_model, settings), request_for(key), settings))
    assert server.calls(key)["count"] == 1


def test_unreachable_server_is_retried_then_a_model_error() -> None:
    settings = Settings(
        **{**NO_KEYS, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "model_retries": 1, "model_retry_base_delay": 0.01}
    )
    with pytest.raises(ModelError, match="could not be reached after 2 attempts: could not connect to .*127.0.0.1:9"):
        asyncio.run(ask_model(resolve_model(OPENAI, settings), request_for("x"), settings))


@both_providers
def test_screenshot_is_sent_as_an_image_when_vision(server: ScriptedModelServer, llm_model: str) -> None:
    settings = settings_for(server)
    key = server.script([GO_BACK])
    asyncio.run(ask_model(resolve_model(llm_model, settings), request_for(key, JPEG), settings))
    content = server.calls(key)["requests"][0]["messages"][-1]["content"]
    encoded = base64.b64encode(JPEG).decode()
    if llm_model == OPENAI:
        assert content[1] == {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{encoded}"}}
    else:
        assert content[1] == {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/jpeg", "data": encoded},
        }


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_no_image_when_the_route_has_no_vision(server: ScriptedModelServer, provider: str) -> None:
    settings = settings_for(server, models={"blind": ModelRoute(provider=provider, model="m", vision=False)})
    key = server.script([GO_BACK])
    asyncio.run(ask_model(resolve_model("blind", settings), request_for(key, JPEG), settings))
    body = server.calls(key)["requests"][0]
    assert body["model"] == "m"
    assert "base64" not in body_text(body)


def test_openai_request_shape(server: ScriptedModelServer) -> None:
    _, key = ask(server, OPENAI, [GO_BACK])
    body = server.calls(key)["requests"][0]
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "agent_output", "schema": response_json_schema(), "strict": False},
    }


def test_anthropic_request_forces_the_answer_tool(server: ScriptedModelServer) -> None:
    _, key = ask(server, ANTHROPIC, [GO_BACK])
    body = server.calls(key)["requests"][0]
    assert body["system"] == "You drive a browser."
    assert body["tool_choice"] == {"type": "tool", "name": "agent_output"}
    assert body["tools"][0]["input_schema"] == response_json_schema()


def test_gemini_uses_the_openai_compatible_endpoint(server: ScriptedModelServer) -> None:
    (output, _), key = ask(server, GEMINI, [GO_BACK])
    assert output.action[0].name == "go_back"
    assert server.calls(key)["requests"][0]["model"] == GEMINI


def test_on_wait_is_called_while_waiting_and_can_abort(server: ScriptedModelServer) -> None:
    settings = settings_for(server, control_poll_seconds=0.05)
    key = server.script([{"_delay": 3.0, "reply": GO_BACK}])
    calls: list[int] = []

    async def stop_after_three() -> None:
        calls.append(1)
        if len(calls) >= 3:
            raise RuntimeError("task stopped")

    with pytest.raises(RuntimeError, match="task stopped"):
        asyncio.run(ask_model(resolve_model(OPENAI, settings), request_for(key), settings, on_wait=stop_after_three))
    assert len(calls) == 3


def test_model_unavailable_reason() -> None:
    nothing = Settings(**NO_KEYS)
    assert "unknown llm_model 'gpt-9'; known models: " in model_unavailable_reason("gpt-9", nothing)
    assert "gpt-4.1" in model_unavailable_reason("gpt-9", nothing)
    assert "set OPENAI_API_KEY (or OPENAI_BASE_URL" in model_unavailable_reason(OPENAI, nothing)
    assert "set ANTHROPIC_API_KEY" in model_unavailable_reason(ANTHROPIC, nothing)
    assert "set GEMINI_API_KEY" in model_unavailable_reason(GEMINI, nothing)
    local = Settings(**{**NO_KEYS, "OPENAI_BASE_URL": "http://localhost:11434/v1"})
    assert model_unavailable_reason(OPENAI, local) is None
    assert model_unavailable_reason(ANTHROPIC, Settings(**{**NO_KEYS, "ANTHROPIC_API_KEY": "k"})) is None
    custom = Settings(**{**NO_KEYS, "OPENAI_API_KEY": "k", "models": {"llama": {"provider": "openai", "model": "l3"}}})
    assert model_unavailable_reason("llama", custom) is None


def test_resolve_model_refuses_an_unconfigured_provider() -> None:
    with pytest.raises(ModelError, match="set OPENAI_API_KEY"):
        resolve_model(OPENAI, Settings(**NO_KEYS))


@pytest.mark.parametrize(
    "text",
    ['{"a": 1}', '```json\n{"a": 1}\n```', '```\n{"a": 1}\n```', 'Answer: {"a": 1} done.', '  {"a": 1}\n'],
)
def test_extract_json(text: str) -> None:
    assert extract_json(text) == {"a": 1}


def test_extract_json_rejects_prose() -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        extract_json("I will click the button.")


def test_a_worker_process_imports_a_providers_sdk_only_when_a_task_uses_it() -> None:
    """`anthropic` is ~40 MiB and ~2 s of imports in each worker process: a host whose tasks
    only call OpenAI-compatible servers never loads it, and loads `openai` at the first task."""
    probe = """
import sys
import worker.tasks
from shared.settings import Settings
from worker.llm.registry import resolve_model
print(sorted(m for m in ("anthropic", "openai") if m in sys.modules))
settings = Settings(openai_api_key="k", anthropic_api_key="k")
resolve_model("gpt-4o", settings)
print(sorted(m for m in ("anthropic", "openai") if m in sys.modules))
resolve_model("claude-sonnet-5", settings)
print(sorted(m for m in ("anthropic", "openai") if m in sys.modules))
"""
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split("\n")[:3] == ["[]", "['openai']", "['anthropic', 'openai']"], ran.stdout

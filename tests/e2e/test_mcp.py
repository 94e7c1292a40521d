"""The MCP server, driven by the official SDK's own client as Claude Desktop or
Cursor would drive it: over stdio (`browserq mcp` as a subprocess, pointed at
the server by BROWSERQ_URL and BROWSERQ_API_KEY) and over streamable HTTP at
/mcp, against a real stack with workers and Chromium."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack, poll, wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
Session = Callable[[Client], Awaitable[Any]]


def over_http(stack: Stack, session: Session, key: str | None = None) -> Any:
    """Run `session` with an SDK client connected to /mcp with the Bearer key."""

    async def go() -> Any:
        http = httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {key or stack.key}"}, timeout=httpx2.Timeout(30, read=300)
        )
        async with http, Client(streamable_http_client(f"{stack.url}/mcp", http_client=http)) as client:
            return await session(client)

    return asyncio.run(go())


def over_stdio(stack: Stack, session: Session) -> Any:
    """Run `session` with an SDK client that starts `browserq mcp` as a desktop client does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROWSERQ_")}
    env.update(BROWSERQ_URL=stack.url, BROWSERQ_API_KEY=stack.key, PYTHONUNBUFFERED="1")
    params = StdioServerParameters(command=sys.executable, args=["-m", "cli", "mcp"], env=env, cwd=ROOT)

    async def go() -> Any:
        async with Client(params) as client:
            return await session(client)

    return asyncio.run(go())


TRANSPORTS = {"http": over_http, "stdio": over_stdio}


def result_json(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.content
    return result.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_run_task_waits_for_the_result_and_reports_each_step(
    transport: str, pg_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            answer("Report the answer", {"done": {"text": "The answer is 42"}}),
        ]
    )
    reported: list[tuple[float, float | None, str | None]] = []

    async def session(client: Client) -> tuple[list[str], CallToolResult]:
        tools = sorted(tool.name for tool in (await client.list_tools()).tools)

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            reported.append((progress, total, message))

        result = await client.call_tool(
            "run_task", {"task": f"Find the answer [script:{key}]", "max_agent_steps": 5}, progress_callback=on_progress
        )
        return tools, result

    tools, result = TRANSPORTS[transport](pg_stack, session)
    assert tools == ["answer_task", "get_task", "list_tasks", "pause_task", "resume_task", "run_task", "stop_task"]
    outcome = result_json(result)
    assert outcome["status"] == "finished" and outcome["output"] == "The answer is 42" and outcome["steps"] == 2
    assert [(done, total) for done, total, _ in reported] == [(1, 5), (2, 5)]
    assert reported[0][2] == "step 1: Open the site (about:blank)"  # each step names the page it ran on
    assert (reported[1][2] or "").startswith(f"step 2: Report the answer ({site.url}")
    with pg_stack.client() as client:  # the same task, as the v1 API shows it
        assert client.get(f"/task/{outcome['id']}").json()["output"] == "The answer is 42"


def test_tool_inputs_are_checked_as_run_task_checks_them(pg_stack: Stack) -> None:
    bad_calls: dict[str, tuple[dict[str, Any], str]] = {
        "blank task": ({"task": "   "}, "task must not be blank"),
        "step limit": ({"task": "x", "max_agent_steps": 0}, "max_agent_steps"),
        "country": ({"task": "x", "proxy_country_code": "zz"}, "proxy_country_code must be one of"),
        "domain": ({"task": "x", "allowed_domains": ["not a domain"]}, "is not a domain"),
        "schema": ({"task": "x", "structured_output_json": "{nope"}, "structured_output_json is not valid JSON"),
        "model (the API's own check)": ({"task": "x", "llm_model": "no-such-model"}, "llm_model"),
        "profile (the API's own check)": ({"task": "x", "browser_profile_id": "missing"}, "browser profile"),
    }
    with pg_stack.client() as client:
        before = client.get("/tasks").json()["total_count"]

    async def session(client: Client) -> dict[str, str]:
        return {
            name: error_text(await client.call_tool("run_task", arguments))
            for name, (arguments, _) in bad_calls.items()
        }

    errors = over_http(pg_stack, session)
    for name, (_, expected) in bad_calls.items():
        assert expected in errors[name], (name, errors[name])
    with pg_stack.client() as client:
        assert client.get("/tasks").json()["total_count"] == before  # nothing was submitted


def test_stop_pause_resume_and_get_over_mcp(pg_stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            {"_delay": 1.5, "reply": answer("Look around", {"scroll": {"down": True}})},
            {"_delay": 30.0, "reply": answer("Finish", {"done": {"text": "too late"}})},
        ]
    )

    async def session(client: Client) -> dict[str, Any]:
        started = result_json(await client.call_tool("run_task", {"task": f"Browse [script:{key}]", "wait": False}))
        task_id = started["id"]
        seen: dict[str, Any] = {"started": started}
        await asyncio.to_thread(poll, "the first step", lambda: _steps(pg_stack, task_id) >= 1)
        seen["pause"] = result_json(await client.call_tool("pause_task", {"task_id": task_id}))
        await asyncio.to_thread(poll, "the pause", lambda: _status(pg_stack, task_id) == "paused")
        seen["paused"] = result_json(await client.call_tool("get_task", {"task_id": task_id}))
        seen["resume"] = result_json(await client.call_tool("resume_task", {"task_id": task_id}))
        seen["stop"] = result_json(await client.call_tool("stop_task", {"task_id": task_id}))
        seen["stop again"] = error_text(await client.call_tool("stop_task", {"task_id": task_id}))
        seen["listed"] = result_json(await client.call_tool("list_tasks", {"status": "stopped", "limit": 100}))
        seen["bad status"] = error_text(await client.call_tool("list_tasks", {"status": "asleep"}))
        return seen

    seen = over_http(pg_stack, session)
    task_id = seen["started"]["id"]
    assert seen["started"]["status"] == "created"
    assert seen["paused"]["status"] == "paused" and seen["paused"]["steps"][0]["next_goal"] == "Open the site"
    assert seen["stop again"].endswith("409: Cannot stop a task that is stopped")
    assert task_id in [t["id"] for t in seen["listed"]["tasks"]]
    assert "422" in seen["bad status"]
    with pg_stack.client() as client:
        assert wait_for(client, task_id, {"stopped"})["status"] == "stopped"


def test_each_key_sees_only_its_own_tasks(pg_stack: Stack, model: ScriptedModelServer) -> None:
    key = model.script([answer("Finish", {"done": {"text": "mine"}})])
    other_key = pg_stack.cli("keys", "create", "other-tenant").strip().splitlines()[-1]

    async def mine(client: Client) -> dict[str, Any]:
        return result_json(await client.call_tool("run_task", {"task": f"Mine [script:{key}]"}))

    task_id = over_http(pg_stack, mine)["id"]

    async def theirs(client: Client) -> tuple[dict[str, Any], str, str]:
        listed = result_json(await client.call_tool("list_tasks", {"limit": 100}))
        got = error_text(await client.call_tool("get_task", {"task_id": task_id}))
        stop = error_text(await client.call_tool("stop_task", {"task_id": task_id}))
        return listed, got, stop

    listed, got, stop = over_http(pg_stack, theirs, key=other_key)
    assert task_id not in [t["id"] for t in listed["tasks"]]
    assert got.endswith("404: Task not found") and stop.endswith("404: Task not found")


def test_mcp_over_http_needs_the_api_key(pg_stack: Stack) -> None:
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "curl", "version": "1"}},
    }
    headers = {"Accept": "application/json, text/event-stream"}
    for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = httpx.post(f"{pg_stack.url}/mcp", json=hello, headers={**headers, **auth}, timeout=10)
        assert response.status_code == 401, (auth, response.text)
        assert "API key" in response.json()["detail"]
    ok = httpx.post(
        f"{pg_stack.url}/mcp", json=hello, timeout=10, headers={**headers, "Authorization": f"Bearer {pg_stack.key}"}
    )
    assert ok.status_code == 200, ok.text
    auth = {**headers, "Authorization": f"Bearer {pg_stack.key}"}
    malformed = {
        "not JSON": {"content": b"\xff{nope"},
        "not JSON-RPC": {"json": {"hello": 1}},
        "a batch of junk": {"json": [1, 2]},
        "unknown method": {"json": {**hello, "method": "nope/nope"}},
    }
    for name, body in malformed.items():
        response = httpx.post(
            f"{pg_stack.url}/mcp", headers={**auth, "Content-Type": "application/json"}, timeout=10, **body
        )  # type: ignore[arg-type]
        assert response.status_code < 500, (name, response.status_code, response.text)
    for method in ("GET", "DELETE", "PATCH"):
        response = httpx.request(method, f"{pg_stack.url}/mcp", headers=auth, timeout=10)
        assert response.status_code == 405, (method, response.status_code, response.text)


def _status(stack: Stack, task_id: str) -> str:
    with stack.client() as client:
        return client.get(f"/task/{task_id}/status").json()


def _steps(stack: Stack, task_id: str) -> int:
    with stack.client() as client:
        return len(client.get(f"/task/{task_id}").json()["steps"])


def test_browserq_mcp_without_a_key_says_how_to_give_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROWSERQ_")}
    env["BROWSERQ_DATA_DIR"] = str(tmp_path)  # no .browserq/api-key here either
    result = subprocess.run(
        [sys.executable, "-m", "cli", "mcp"],
        check=False,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1 and result.stdout == ""  # stdout is the protocol's: nothing else goes there
    assert "BROWSERQ_API_KEY" in result.stderr


def test_a_task_that_asks_a_person_returns_its_question_and_answer_task_goes_on(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    question = "Which colour should I pick: red or blue?"
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            answer("Ask which colour", {"ask_human": {"question": question}}),
            answer("Finish", {"done": {"text": "picked"}}),
        ]
    )

    async def session(client: Client) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        seen["waiting"] = result_json(await client.call_tool("run_task", {"task": f"Pick a colour [script:{key}]"}))
        task_id = seen["waiting"]["id"]
        seen["answered"] = result_json(await client.call_tool("answer_task", {"task_id": task_id, "answer": "blue"}))
        done = await asyncio.to_thread(wait_for, pg_stack.client(), task_id, {"finished", "failed", "stopped"})
        seen["done"] = done
        seen["again"] = error_text(await client.call_tool("answer_task", {"task_id": task_id, "answer": "red"}))
        return seen

    seen = over_http(pg_stack, session)
    assert seen["waiting"]["status"] == "paused" and seen["waiting"]["human_question"] == question
    assert "answer_task" in seen["waiting"]["note"]
    assert seen["answered"] == {"id": seen["waiting"]["id"], "answered": True}
    assert seen["done"]["status"] == "finished" and seen["done"]["output"] == "picked"
    last_prompt = json.dumps(model.calls(key)["requests"][-1])
    assert "blue" in last_prompt  # the model's next step read the answer
    assert "409" in seen["again"]  # a task that no longer waits

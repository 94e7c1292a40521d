"""Secrets: the model sees only their names, `<secret>name</secret>` types the
value into the real page, and the value appears nowhere else: not in the API's
answer, the database (read directly), the worker's log, or any request the
model received, even when the page shows it back in its text and its URL."""

from __future__ import annotations

import json
import sqlite3

import psycopg
import pytest

from tests.support.scripted_model import ScriptedModelServer, answer, message_texts
from tests.support.site import ACCOUNT_CODE, PASSWORD, USERNAME, SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
TOKEN = "tok en+/42&x"  # changes under URL and JSON encoding: those forms must go too

ECHO_FORM = """<title>Token form</title>
<form action="/p/agent-echo-result"><input name=token aria-label="Token"><button>Send token</button></form>"""
ECHO_RESULT = """<title>Token sent</title><p id=out></p>
<script>document.getElementById('out').textContent = 'You sent: ' + new URLSearchParams(location.search).get('token');</script>"""  # noqa: E501 (HTML)


def database_text(stack: Stack) -> str:
    """Every row of every table, as text."""
    if stack.db_url:
        with psycopg.connect(stack.db_url) as conn:
            tables = [
                r[0]
                for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
            ]
            return "\n".join(str(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)
    with sqlite3.connect(stack.data_dir / "browserq.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(str(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)


def test_secret_values_are_typed_but_never_shown(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    echo = site.add_page("agent-echo", ECHO_FORM)
    site.add_page("agent-echo-result", ECHO_RESULT)
    key = model.script(
        [
            answer("Open the login page", {"navigate": {"url": f"{site.url}/login"}}),
            answer(
                "Log in",
                {"input": {"index": "@text:Username", "text": USERNAME}},
                {"input": {"index": "@text:Password", "text": "<secret>password</secret>"}},
                {"click": {"index": "@text:Sign in"}},
            ),
            answer("Open the token form", {"navigate": {"url": echo}}, memory=f"Code {ACCOUNT_CODE}"),
            answer(
                "Send the token",
                {"input": {"index": "@text:Token", "text": "token: <secret>token</secret>"}},
                {"click": {"index": "@text:Send token"}},
            ),
            answer("Finish", {"done": {"text": f"logged in, code {ACCOUNT_CODE}"}}),
        ]
    )
    with stack.client() as client:
        body = {
            "task": f"Log in and send the token [script:{key}]",
            "secrets": {"password": PASSWORD, "token": TOKEN},
            "save_browser_data": True,
        }
        task_id = client.post("/run-task", json=body).json()["id"]
        task = wait_for(client, task_id, FINAL, timeout=90)
        listing = client.get("/tasks").text
    assert task["status"] == "finished", task
    assert task["steps"][2]["url"] == f"{site.url}/account"  # the typed password worked

    requests = model.calls(key)["requests"]
    prompts = ["\n".join(message_texts(r, "user")) for r in requests]
    # The model was told the names and saw the placeholder wherever the page showed the value.
    assert "password, token" in prompts[0]
    assert "You sent: token: <secret>token</secret>" in prompts[4]
    assert "token=token%3A+<secret>token</secret>" in prompts[4]  # the URL, percent-encoded

    leaks = {
        "the API's task": json.dumps(task),
        "the API's task list": listing,
        "the database": database_text(stack),
        "the worker's log": stack.log("worker0"),
        "the API's log": stack.log("api"),
        "the model's requests": json.dumps(requests),
    }
    for value in (PASSWORD, TOKEN, "tok+en%2B%2F42%26x", "tok%20en%2B%2F42%26x"):
        for where, text in leaks.items():
            assert value not in text, f"{value!r} leaked into {where}"

"""ask_human, end to end: the scripted model asks a person; the task waits
paused with the question in its views, its webhook event and its live page;
the test answers (API, live page in a real Chromium, CLI) and the model's next
request carries the answer. A secret answer is typed into the real page but
never reaches the model, the database, the API or the log. Answering a task
that does not wait is 409, another key's 404; a person who takes control and
resumes instead is told to the model; the wait has the pause's limit and does
not count against the task's own."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright
from websockets.sync.client import connect

from tests.e2e.test_agent_secrets import database_text
from tests.e2e.test_client_cli import bq, cli_env
from tests.support.scripted_model import ScriptedModelServer, answer, message_texts
from tests.support.site import SiteServer
from tests.support.stack import CHROMIUM, Stack, poll, wait_for
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
QUESTION = "Which colour should I pick: red or blue?"
CODE = "493817"

CODE_FORM = """<title>Two-step check</title><h1>Enter the code we sent to your phone</h1>
<form action="/p/{result}"><input name=code aria-label="Code"><button>Verify</button></form>"""
# Checks the code without holding it in the page (reversed), and echoes what was sent.
CODE_RESULT = """<title>Checked</title><p id=out></p><script>
const sent = new URLSearchParams(location.search).get('code') || '';
const ok = sent.split('').reverse().join('') === '718394';
document.getElementById('out').textContent = (ok ? 'Code accepted' : 'Wrong code') + ', you sent ' + sent;
</script>"""


def prompts(model: ScriptedModelServer, key: str) -> list[str]:
    return ["\n".join(message_texts(body, "user")) for body in model.calls(key)["requests"]]


def ask_script(model: ScriptedModelServer, site: SiteServer, question: str = QUESTION, then: list | None = None) -> str:
    return model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            answer("Ask which colour", {"ask_human": {"question": question}}),
            *(then or [answer("Finish", {"done": {"text": "picked"}})]),
        ]
    )


def submit(client: httpx.Client, key: str, **fields: object) -> str:
    response = client.post("/run-task", json={"task": f"Pick a colour [script:{key}]", **fields})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def waiting(client: httpx.Client, task_id: str, timeout: float = 120) -> dict:
    """The task once it waits for a person."""

    def asked() -> dict | None:
        task = client.get(f"/task/{task_id}").json()
        assert task["status"] not in FINAL, task
        return task if task["human_question"] else None

    return poll("the task to wait for an answer", asked, timeout=timeout)


@pytest.fixture
def started() -> Iterator[list[tuple[Stack, str]]]:
    """Tasks a test started, stopped at its end whatever happened: a task left waiting holds a worker slot."""
    tasks: list[tuple[Stack, str]] = []
    yield tasks
    for stack, task_id in tasks:
        with stack.client() as client:
            client.put(f"/stop-task/{task_id}")


def new_key(stack: Stack, name: str) -> str:
    return stack.cli("keys", "create", name).strip().splitlines()[-1]


def test_the_task_waits_for_the_answer_and_the_next_step_reads_it(
    stack: Stack, started: list, model: ScriptedModelServer, site: SiteServer
) -> None:
    key = ask_script(model, site)
    with stack.client() as client:
        task_id = submit(client, key)
        started.append((stack, task_id))
        task = waiting(client, task_id)
        assert task["status"] == "paused" and task["human_question"] == QUESTION
        assert client.get(f"/task/{task_id}/status").json() == "paused"
        listed = next(t for t in client.get("/tasks", params={"limit": 100}).json()["tasks"] if t["id"] == task_id)
        assert listed["human_question"] == QUESTION and listed["status"] == "paused"
        v2 = httpx.get(f"{stack.url}/api/v2/tasks/{task_id}", headers={"X-Browser-Use-API-Key": stack.key}).json()
        # v2 shows a paused task as `started` (its official clients have no paused) and says it is paused
        assert v2["status"] == "started" and v2["paused"] is True and v2["humanQuestion"] == QUESTION

        time.sleep(1.5)  # waiting: the model is asked nothing more
        assert model.calls(key)["count"] == 2
        assert client.post(f"/task/{task_id}/answer", json={"answer": "blue"}).json() == {}
        again = client.post(f"/task/{task_id}/answer", json={"answer": "red"})
        assert again.status_code == 409 and "not waiting" in again.json()["detail"]
        task = wait_for(client, task_id, FINAL, timeout=120)
    assert task["status"] == "finished" and task["output"] == "picked", task
    assert task["human_question"] is None
    texts = prompts(model, key)
    assert len(texts) == 3
    assert "ask_human" in model.calls(key)["requests"][0]["messages"][0]["content"]  # offered in the system prompt
    assert "The person answered: blue" in texts[2] and "answered: red" not in texts[2]
    assert [s["step"] for s in task["steps"]] == [1, 2, 3]


def test_a_secret_answer_is_typed_but_never_seen(
    pg_stack: Stack, started: list, model: ScriptedModelServer, site: SiteServer
) -> None:
    result = f"code-result-{uuid.uuid4().hex[:8]}"
    site.add_page(result, CODE_RESULT)
    form = site.add_page(f"code-form-{uuid.uuid4().hex[:8]}", CODE_FORM.format(result=result))
    key = model.script(
        [
            answer("Open the check", {"navigate": {"url": form}}),
            answer("Ask for the code", {"ask_human": {"question": "What is the code sent to your phone?"}}),
            answer(
                "Type the code",
                {"input": {"index": "@text:Code", "text": "<secret>human_answer_1</secret>"}},
                {"click": {"index": "@text:Verify"}},
            ),
            answer("Finish", {"done": {"text": "verified"}}),
        ]
    )
    with pg_stack.client() as client:
        task_id = submit(client, key)
        started.append((pg_stack, task_id))
        waiting(client, task_id)
        assert client.post(f"/task/{task_id}/answer", json={"answer": CODE, "secret": True}).json() == {}
        task = wait_for(client, task_id, FINAL, timeout=120)
        served = client.get(f"/task/{task_id}").text + client.get("/tasks").text
    assert task["status"] == "finished", task
    texts = prompts(model, key)
    assert "type it with <secret>human_answer_1</secret>" in texts[2]
    assert "human_answer_1" in texts[2].split("<secrets>")[1].split("</secrets>")[0]  # listed with the secrets
    assert "Code accepted, you sent <secret>human_answer_1</secret>" in texts[3]  # typed right, shown redacted
    raw = json.dumps(model.calls(key)["requests"])
    assert CODE not in raw and CODE not in served
    assert CODE not in database_text(pg_stack)
    assert CODE not in pg_stack.log("worker0") and CODE not in pg_stack.log("api")


def test_answering_what_does_not_wait_is_refused(
    pg_stack: Stack, started: list, model: ScriptedModelServer, site: SiteServer
) -> None:
    slow = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            {"_delay": 30.0, "reply": answer("Finish", {"done": {"text": "late"}})},
        ]
    )
    with pg_stack.client() as client:
        assert client.post(f"/task/{uuid.uuid4()}/answer", json={"answer": "x"}).status_code == 404
        task_id = submit(client, slow)
        started.append((pg_stack, task_id))
        poll("step 2's model call", lambda: model.calls(slow)["count"] >= 2)
        running = client.post(f"/task/{task_id}/answer", json={"answer": "x"})
        assert running.status_code == 409 and "running" in running.json()["detail"]
        assert client.put(f"/pause-task/{task_id}").status_code == 200  # paused, but asked nothing
        assert client.post(f"/task/{task_id}/answer", json={"answer": "x"}).status_code == 409
        for bad in (
            {},
            {"answer": ""},
            {"answer": "   "},
            {"answer": "a\u0000b"},
            {"answer": 5},
            {"answer": "x" * 10_001},
            {"answer": "x", "secret": "maybe"},
        ):
            refused = client.post(f"/task/{task_id}/answer", json=bad)
            assert refused.status_code == 422 and isinstance(refused.json()["detail"], list), (bad, refused.text)
        assert (
            client.post(
                f"/task/{task_id}/answer", content=b"{not json", headers={"Content-Type": "application/json"}
            ).status_code
            == 422
        )
        assert client.put(f"/stop-task/{task_id}").status_code == 200
        assert client.post(f"/task/{task_id}/answer", json={"answer": "x"}).status_code == 409

        asking = ask_script(model, site)
        waiting_id = submit(client, asking)
        started.append((pg_stack, waiting_id))
        waiting(client, waiting_id)
    with pg_stack.client(new_key(pg_stack, "someone-else")) as other:
        foreign = other.post(f"/task/{waiting_id}/answer", json={"answer": "blue"})
        assert foreign.status_code == 404 and foreign.json() == {"detail": "Task not found"}
    with pg_stack.client() as client:
        assert client.get(f"/task/{waiting_id}").json()["human_question"] == QUESTION  # still waiting
        assert client.put(f"/stop-task/{waiting_id}").status_code == 200
        stopped = client.get(f"/task/{waiting_id}").json()
    assert stopped["status"] == "stopped" and stopped["human_question"] is None


def test_resumed_without_an_answer_the_model_is_told(
    pg_stack: Stack, started: list, model: ScriptedModelServer, site: SiteServer
) -> None:
    key = ask_script(model, site)
    with pg_stack.client() as client:
        task_id = submit(client, key)
        started.append((pg_stack, task_id))
        waiting(client, task_id)
        assert client.put(f"/resume-task/{task_id}").status_code == 200
        task = wait_for(client, task_id, FINAL, timeout=120)
    assert task["status"] == "finished", task
    assert "No answer: a person resumed the task without answering" in prompts(model, key)[2]


def test_a_person_who_takes_control_and_resumes_is_told_to_the_model(
    pg_stack: Stack, started: list, model: ScriptedModelServer, site: SiteServer
) -> None:
    """Through the live view's socket, as its page does: take control, type into the page, resume."""
    key = model.script(
        [
            answer("Open the login page", {"navigate": {"url": f"{site.url}/login"}}),
            answer("Ask for help", {"ask_human": {"question": "Please solve the CAPTCHA, then resume me."}}),
            answer("Finish", {"done": {"text": "thanks"}}),
        ]
    )
    with pg_stack.client() as client:
        task_id = submit(client, key, browser_viewport_width=800, browser_viewport_height=600)
        started.append((pg_stack, task_id))
        task = waiting(client, task_id)
        socket = task["live_url"].replace("http://", "ws://").replace("?token=", "/ws?token=")
        with connect(socket, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            # A first frame: the worker streams (and reads input); the agent has stopped to wait.
            assert next_message(ws, lambda m: m["type"] == "frame" and m["parked"])
            ws.send(json.dumps({"type": "control", "action": "take"}))
            assert next_message(ws, lambda m: m["type"] == "control")["status"] == "paused"
            ws.send(json.dumps({"type": "input", "kind": "key", "key": "Tab", "seq": 1}))
            ws.send(json.dumps({"type": "input", "kind": "text", "text": "solved-by-hand", "seq": 2}))
            next_message(ws, lambda m: m["type"] == "frame" and max((m.get("handled") or {0: 0}).values()) >= 2)
            ws.send(json.dumps({"type": "control", "action": "resume"}))
            poll("the task running again", lambda: client.get(f"/task/{task_id}/status").json() != "paused")
        task = wait_for(client, task_id, FINAL, timeout=120)
    assert task["status"] == "finished", task
    after = prompts(model, key)[2]
    assert "A person took control of the browser, used the page and resumed the task" in after
    assert "solved-by-hand" in after  # the page as they left it


def next_message(ws: object, wanted: object, timeout: float = 30) -> dict:
    """The first message from the live socket that `wanted` accepts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))  # type: ignore[attr-defined]
        except TimeoutError:
            break
        if wanted(message):  # type: ignore[operator]
            return message
    raise AssertionError(f"no such message from the live view in {timeout:g} s")


@pytest.fixture(scope="module")
def viewer() -> Iterator[Browser]:
    """A person's browser: a real headless Chromium driven from the test."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def test_the_live_page_shows_the_question_and_takes_the_answer(
    pg_stack: Stack, started: list, model: ScriptedModelServer, site: SiteServer, viewer: Browser
) -> None:
    key = ask_script(model, site, question="Ship to the <b>office</b> or home?")
    with pg_stack.client() as client:
        task_id = submit(client, key)
        started.append((pg_stack, task_id))
        task = waiting(client, task_id)
        forged = httpx.post(f"{pg_stack.url}/live/{task_id}/answer", params={"token": "1.bad"}, json={"answer": "x"})
        assert forged.status_code == 403  # the live page answers only by its signed link
        page = viewer.new_page()
        try:
            page.goto(task["live_url"])
            page.wait_for_selector("#question-box:not([hidden])", timeout=45_000)
            assert page.inner_text("#question") == "Ship to the <b>office</b> or home?"  # text, not HTML
            page.fill("#answer", "home, please")
            page.click("#answer-send")
            poll("the question box to close", lambda: page.is_hidden("#question-box"), timeout=45)
            assert "Answer sent" in page.inner_text("#answer-note")
        finally:
            page.close()
        task = wait_for(client, task_id, FINAL, timeout=120)
    assert task["status"] == "finished", task
    assert "The person answered: home, please" in prompts(model, key)[2]


def test_the_cli_answers_and_webhook_events_carry_the_question_and_the_cost(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer, tmp_path: Path
) -> None:
    key = new_key(pg_stack, "asks-by-webhook")
    script = ask_script(model, site)
    with WebhookReceiver() as receiver, pg_stack.client(key) as client:
        assert client.put("/webhook", json={"url": receiver.url("/ask")}).status_code == 200
        task_id = submit(client, script)
        waiting(client, task_id)
        paused = receiver.wait_for(
            "/ask", lambda got: any(r.body.get("payload", {}).get("status") == "paused" for r in got)
        )
        event = next(r.body["payload"] for r in paused if r.body.get("payload", {}).get("status") == "paused")
        assert event["task_id"] == task_id and event["human_question"] == QUESTION

        env = cli_env(pg_stack, tmp_path, BROWSERQ_API_KEY=key)
        run = bq(env, "answer", task_id, "blue")
        assert run.returncode == 0 and "answered" in run.stdout, run.stderr
        again = bq(env, "answer", task_id, "blue")
        assert again.returncode == 1 and "409" in again.stderr and "not waiting" in again.stderr
        task = wait_for(client, task_id, FINAL, timeout=120)
        got = receiver.wait_for(
            "/ask", lambda got: any(r.body.get("payload", {}).get("status") == "finished" for r in got)
        )
    assert task["status"] == "finished" and "The person answered: blue" in prompts(model, script)[2]
    final = next(r.body["payload"] for r in got if r.body.get("payload", {}).get("status") == "finished")
    # 3 model calls at the scripted model's default usage (100 in, 20 out), gpt-4.1 at $2 / $8 per million.
    assert final["cost"] == {"input_tokens": 300, "output_tokens": 60, "usd": 0.00108} == task["cost"]
    assert "human_question" not in final


@pytest.fixture(scope="module")
def timed_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    """Short step and task limits, and a pause limit longer than both."""
    env = {
        "BROWSERQ_STEP_TIMEOUT_SECONDS": "8",
        "BROWSERQ_TASK_TIMEOUT_SECONDS": "20",
        "BROWSERQ_MAX_PAUSE_SECONDS": "32",
    }
    stack = Stack(kind="postgres", model_base_url=model.base_url, env_extra=env)
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_the_wait_has_the_pause_limit_and_not_the_task_limits(
    timed_stack: Stack, started: list, model: ScriptedModelServer, site: SiteServer
) -> None:
    answered = ask_script(model, site)
    unanswered = ask_script(model, site, question="Anyone there?")
    with timed_stack.client() as client:
        first = submit(client, answered)
        started.append((timed_stack, first))
        second = submit(client, unanswered)
        started.append((timed_stack, second))
        waiting(client, first)
        waiting(client, second)
        time.sleep(22)  # longer than a step (8 s) and the whole task (20 s) may take
        assert client.get(f"/task/{first}/status").json() == "paused"
        assert client.post(f"/task/{first}/answer", json={"answer": "blue"}).status_code == 200
        done = wait_for(client, first, FINAL, timeout=60)
        expired = wait_for(client, second, FINAL, timeout=60)
    assert done["status"] == "finished" and done["output"] == "picked", done
    assert all(s["duration_ms"] < 8000 for s in done["steps"]), done["steps"]  # the wait is not the step's time
    assert expired["status"] == "stopped" and "longer than the limit of 32 s" in expired["output"], expired
    assert expired["human_question"] is None

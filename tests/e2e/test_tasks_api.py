"""Submit and poll through HTTP only, against a real API, real Celery worker
processes and a real Chromium, on PostgreSQL + Redis and in embedded mode."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import ACCOUNT_CODE, PASSWORD, USERNAME, SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}


def login_script(site: SiteServer) -> list[dict]:
    return [
        answer("Open the login page", {"navigate": {"url": f"{site.url}/login"}}),
        answer(
            "Log in",
            {"input": {"index": "@text:Username", "text": USERNAME}},
            {"input": {"index": "@text:Password", "text": "<secret>password</secret>"}},
            {"click": {"index": "@text:Sign in"}},
        ),
        answer("Report the code", {"done": {"text": ACCOUNT_CODE}}, memory="The account page shows the code"),
    ]


def submit(client: httpx.Client, key: str, **fields: object) -> str:
    body = {"task": f"Log in and read the account code [script:{key}]", **fields}
    response = client.post("/run-task", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def test_login_task_finishes_with_steps(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    key = model.script(login_script(site))
    with stack.client() as client:
        task_id = submit(client, key, secrets={"password": PASSWORD}, save_browser_data=True, metadata={"ref": "42"})
        task = wait_for(client, task_id, FINAL)
    assert task["status"] == "finished", task
    assert task["output"] == ACCOUNT_CODE
    assert task["finished_at"] and task["created_at"].endswith("Z")
    assert [s["step"] for s in task["steps"]] == [1, 2, 3]
    assert task["steps"][0]["url"] == "about:blank"
    assert task["steps"][1]["url"] == f"{site.url}/login"
    # The real browser logged in: the last step ran on the account page, whose code the model was shown.
    assert task["steps"][2]["url"] == f"{site.url}/account"
    last_prompt = str(model.calls(key)["requests"][-1]["messages"])
    assert ACCOUNT_CODE in last_prompt
    assert task["steps"][1]["next_goal"] == "Log in"
    cookies = task["browser_data"]["cookies"]
    assert any(c["name"] == "session" and c["value"] == f"ok-{USERNAME}" for c in cookies)
    assert task["metadata"] == {"ref": "42"}
    assert PASSWORD not in str(task)


def test_steps_appear_while_the_task_runs(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            {"_delay": 3.0, "reply": answer("Finish", {"done": {"text": "ok"}})},
        ]
    )
    with stack.client() as client:
        task_id = submit(client, key)
        task = wait_for(client, task_id, {"running"})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not task["steps"]:
            task = client.get(f"/task/{task_id}").json()
            time.sleep(0.05)
        assert task["status"] == "running" and [s["step"] for s in task["steps"]] == [1]
        assert client.get(f"/task/{task_id}/status").json() == "running"
        done = wait_for(client, task_id, FINAL)
    assert done["status"] == "finished" and [s["step"] for s in done["steps"]] == [1, 2]


def test_stop_takes_effect_within_a_second(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            {"_delay": 30.0, "reply": answer("Finish", {"done": {"text": "too late"}})},
        ]
    )
    with stack.client() as client:
        task_id = submit(client, key)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not client.get(f"/task/{task_id}").json()["steps"]:
            time.sleep(0.05)
        time.sleep(0.3)  # the worker is now waiting for the slow model
        assert client.put("/stop-task", params={"task_id": task_id}).json() == {}
        assert client.get(f"/task/{task_id}/status").json() == "stopped"
        assert client.put(f"/stop-task/{task_id}").status_code == 409
        time.sleep(2)
        task = client.get(f"/task/{task_id}").json()
    assert task["status"] == "stopped" and task["finished_at"]
    assert [s["step"] for s in task["steps"]] == [1]
    assert "Stopped" in task["output"]
    # The model call was cut short: the worker asked once more and gave up waiting.
    assert model.calls(key)["count"] == 2


def test_pause_and_resume_go_on_where_the_task_was(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    key = model.script(
        [
            answer("Open the login page", {"navigate": {"url": f"{site.url}/login"}}),
            {"_delay": 1.5, "reply": answer("Type the user", {"input": {"index": "@text:Username", "text": "bob"}})},
            answer("Finish", {"done": {"text": "resumed"}}),
        ]
    )
    with stack.client() as client:
        task_id = submit(client, key)
        wait_for(client, task_id, {"running"})
        assert client.put(f"/pause-task/{task_id}").json() == {}
        assert client.get(f"/task/{task_id}/status").json() == "paused"
        assert client.put("/pause-task", params={"task_id": task_id}).status_code == 409
        time.sleep(3)  # paused: no further step starts
        paused = client.get(f"/task/{task_id}").json()
        assert paused["status"] == "paused" and len(paused["steps"]) <= 2
        assert client.put("/resume-task", params={"task_id": task_id}).json() == {}
        task = wait_for(client, task_id, FINAL)
    assert task["status"] == "finished" and task["output"] == "resumed"
    assert [s["step"] for s in task["steps"]] == [1, 2, 3]
    assert task["steps"][2]["url"] == f"{site.url}/login"  # the same browser page, kept while paused
    assert model.calls(key)["count"] == 3


def test_step_limit_fails_the_task(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    key = model.script([{"_repeat": 5, "reply": answer("Keep scrolling", {"scroll": {"down": True}})}])
    with stack.client() as client:
        task_id = submit(client, key, max_agent_steps=2)
        task = wait_for(client, task_id, FINAL)
    assert task["status"] == "failed"
    assert "step limit of 2" in task["output"]
    assert [s["step"] for s in task["steps"]] == [1, 2]
    schema = model.calls(key)["requests"][-1]["response_format"]["json_schema"]["schema"]
    offered = [next(iter(v["properties"])) for v in schema["properties"]["action"]["items"]["anyOf"]]
    assert offered == ["done"]


def test_a_task_stopped_while_queued_never_starts(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    slow = model.script([{"_delay": 30.0, "reply": answer("Finish", {"done": {"text": "slow"}})}] * 2)
    queued = model.script([answer("Finish", {"done": {"text": "must not run"}})])
    with pg_stack.client() as client:
        blockers = [submit(client, slow) for _ in range(pg_stack.concurrency * pg_stack.workers)]
        for blocker in blockers:
            wait_for(client, blocker, {"running"})
        task_id = submit(client, queued)
        assert client.get(f"/task/{task_id}/status").json() == "created"
        assert client.put(f"/stop-task/{task_id}").json() == {}
        for blocker in blockers:
            client.put(f"/stop-task/{blocker}")
        time.sleep(3)
        task = client.get(f"/task/{task_id}").json()
    assert task["status"] == "stopped" and task["steps"] == []
    assert model.calls(queued)["count"] == 0


def test_list_tasks_newest_first_with_paging(stack: Stack, model: ScriptedModelServer) -> None:
    owner = stack.cli("keys", "create", "lister").strip().splitlines()[-1]
    key = model.script([answer("Finish", {"done": {"text": "x"}})] * 3)
    with stack.client(owner) as client:
        ids = [submit(client, key) for _ in range(3)]
        page1 = client.get("/tasks", params={"page": 1, "limit": 2}).json()
        page2 = client.get("/tasks", params={"page": 2, "limit": 2}).json()
        for task_id in ids:
            wait_for(client, task_id, FINAL)
        finished = client.get("/tasks", params={"status": "finished", "limit": 100}).json()
    assert [t["id"] for t in page1["tasks"]] == ids[::-1][:2]
    assert [t["id"] for t in page2["tasks"]] == ids[:1]
    assert (page1["total_count"], page1["total_pages"], page1["page"], page1["limit"]) == (3, 2, 1, 2)
    assert {t["id"] for t in finished["tasks"]} == set(ids)
    official = {"id", "task", "output", "status", "created_at", "finished_at", "live_url"}
    assert set(page1["tasks"][0]) == official | {"cost", "human_question"}  # the two documented extensions


def test_another_keys_task_is_not_found(stack: Stack, model: ScriptedModelServer) -> None:
    key = model.script([answer("Finish", {"done": {"text": "mine"}})])
    other = stack.cli("keys", "create", "other").strip().splitlines()[-1]
    with stack.client() as client, stack.client(other) as intruder:
        task_id = submit(client, key)
        for method, path in [
            ("GET", f"/task/{task_id}"),
            ("GET", f"/task/{task_id}/status"),
            ("PUT", f"/stop-task/{task_id}"),
            ("PUT", f"/pause-task?task_id={task_id}"),
            ("PUT", f"/resume-task/{task_id}"),
        ]:
            response = intruder.request(method, path)
            assert response.status_code == 404 and response.json() == {"detail": "Task not found"}, path
        assert task_id not in str(intruder.get("/tasks").json())
        assert client.get(f"/task/{task_id}").status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"task": ""}, "task", "at least 1"),
        ({"task": "   "}, "task", "blank"),
        ({"task": "x", "metadata": {f"k{i}": "v" for i in range(11)}}, "metadata", "at most 10"),
        ({"task": "x", "max_agent_steps": 0}, "max_agent_steps", "greater than or equal to 1"),
        ({"task": "x", "max_agent_steps": 201}, "max_agent_steps", "less than or equal to 200"),
        ({"task": "x", "structured_output_json": "{not json"}, "structured_output_json", "not valid JSON"),
        ({"task": "x", "structured_output_json": '{"type": 12}'}, "structured_output_json", "not a valid JSON Schema"),
        ({"task": "x", "llm_model": "gpt-9000"}, "llm_model", "unknown llm_model"),
        ({"task": "x", "llm_model": "claude-sonnet-4-20250514"}, "llm_model", "ANTHROPIC_API_KEY"),
        ({"task": "x", "allowed_domains": ["not a domain"]}, "allowed_domains", "is not a domain"),
        ({"task": "x", "proxy_country_code": "zz"}, "proxy_country_code", "must be one of"),
        ({"task": "x", "included_file_names": ["never.csv"]}, "included_file_names", "never uploaded"),
        ({}, "task", "required"),
    ],
)
def test_bad_run_task_requests_are_422(pg_stack: Stack, body: dict, field: str, says: str) -> None:
    with pg_stack.client() as client:
        response = client.post("/run-task", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(field in err["loc"] and says in err["msg"] for err in detail), detail


@pytest.mark.parametrize("raw", [b"\x80", b"{not json", b'{"task": "x"'])
def test_an_undecodable_body_is_422_too(pg_stack: Stack, raw: bytes) -> None:
    with pg_stack.client() as client:
        response = client.post("/run-task", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_auth_and_small_endpoints(stack: Stack) -> None:
    base = f"{stack.url}/api/v1"
    assert httpx.get(f"{base}/ping").json() == {}
    missing = httpx.get(f"{base}/me")
    assert missing.status_code == 401 and missing.json() is False  # the official docs: 401, body false
    wrong = httpx.get(f"{base}/me", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json() is False
    other = httpx.get(f"{base}/tasks", headers={"Authorization": "Bearer nope"})
    assert other.status_code == 401 and other.json()["detail"] == "Invalid API key"  # every other route
    with stack.client() as client:
        assert client.get("/me").json() is True
        assert client.get("/task/does-not-exist").status_code == 404
        assert client.put("/stop-task").status_code == 422
        assert client.put("/resume-task", params={"task_id": "nope"}).status_code == 404
        assert (
            client.post("/run-task", content=b"{broken", headers={"content-type": "application/json"}).status_code
            == 422
        )
        assert client.get("/tasks", params={"limit": 0}).status_code == 422
        assert client.get("/tasks", params={"status": "weird"}).status_code == 422
    spec = httpx.get(f"{stack.url}/openapi.json").json()
    for path in [
        "/api/v1/run-task",
        "/api/v1/task/{task_id}",
        "/api/v1/task/{task_id}/status",
        "/api/v1/tasks",
        "/api/v1/stop-task",
        "/api/v1/stop-task/{task_id}",
        "/api/v1/pause-task",
        "/api/v1/resume-task",
        "/api/v1/ping",
        "/api/v1/me",
    ]:
        assert path in spec["paths"], path


def test_finished_task_transitions_are_409(stack: Stack, model: ScriptedModelServer) -> None:
    key = model.script([answer("Finish", {"done": {"text": "x"}})])
    with stack.client() as client:
        task_id = submit(client, key)
        wait_for(client, task_id, FINAL)
        for verb in ("stop", "pause", "resume"):
            response = client.put(f"/{verb}-task", params={"task_id": task_id})
            assert response.status_code == 409 and "finished" in response.json()["detail"], verb

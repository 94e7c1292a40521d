"""Conformance with the official v1 reference (tests/support/v1_reference.json):
every v1 route, called over HTTP with real workers on both deployments, answers
in the reference's shapes (required fields, types, nullability, enums, no
undocumented keys); every field the reference types `X | null` takes an explicit
null; every model name of the official enum is accepted; and the webhook of a
task that runs, pauses, resumes and finishes says so in the official names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack, poll, wait_for
from tests.support.v1_reference import assert_conforms, explicit_nulls, llm_models
from tests.support.webhook_receiver import Received, WebhookReceiver

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
OPENAI_MODELS = {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini"}


def new_key(stack: Stack, name: str, *options: str) -> str:
    return stack.cli("keys", "create", name, *options).strip().splitlines()[-1]


def ok(response: httpx.Response, model: str) -> Any:
    assert response.status_code == 200, (response.request.method, response.request.url, response.text)
    assert_conforms(model, response.json())
    return response.json()


def refused(response: httpx.Response, where: str) -> list[dict[str, Any]]:
    """A 422 in the one documented shape, located in the body or the query."""
    assert response.status_code == 422, (response.request.url, response.text)
    assert_conforms("HTTPValidationError", response.json())
    detail = response.json()["detail"]
    assert all(item["loc"][0] == where for item in detail), detail
    return detail


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


# -- account ------------------------------------------------------------------


def test_ping_me_and_balance(stack: Stack) -> None:
    assert ok(httpx.get(f"{stack.url}/api/v1/ping"), "Empty") == {}
    with stack.client() as client:
        assert ok(client.get("/me"), "Me") is True
        assert ok(client.get("/balance"), "CheckUserBalanceResponse") == {"balance": "1000000000"}  # no budget
    for headers in ({"Authorization": "Bearer not-a-key"}, {}):
        me = httpx.get(f"{stack.url}/api/v1/me", headers=headers)
        assert (me.status_code, me.content) == (401, b"false"), me.text
    with stack.client(new_key(stack, "budget", "--budget", "1.509")) as client:
        assert ok(client.get("/balance"), "CheckUserBalanceResponse") == {"balance": "150"}  # whole credits, down


# -- tasks --------------------------------------------------------------------


def test_task_routes_take_explicit_nulls_and_answer_in_the_official_shapes(
    stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    script = model.script(
        [answer("Open", {"navigate": {"url": site.url + "/"}}), answer("Finish", {"done": {"text": "shop seen"}})]
    )
    body = {**explicit_nulls("RunTaskRequest"), "task": f"Look at the shop [script:{script}]"}
    with stack.client(new_key(stack, "tasks")) as client:
        task_id = ok(client.post("/run-task", json=body), "TaskCreatedResponse")["id"]
        task = wait_for(client, task_id, FINAL)
        assert task["status"] == "finished" and task["output"] == "shop seen", task
        assert_conforms("TaskResponse", task)
        assert task["browser_data"] is None and task["public_share_url"] is None  # the defaults: false, false
        assert ok(client.get(f"/task/{task_id}/status"), "TaskStatusEnum") == "finished"
        page = ok(client.get("/tasks", params={"page": 1, "limit": 10}), "ListTasksResponse")
        assert [t["id"] for t in page["tasks"]] == [task_id]
        shots = ok(client.get(f"/task/{task_id}/screenshots"), "TaskScreenshotsResponse")["screenshots"]
        assert len(shots) == len(task["steps"]) == 2
        ok(client.get(f"/task/{task_id}/media"), "TaskMediaResponse")
        assert ok(client.get(f"/task/{task_id}/gif"), "TaskGifResponse")["gif"]
        assert client.get(f"/task/{task_id}/output-file/nothing.txt").status_code == 404
        ok(
            client.post("/uploads/presigned-url", json={"file_name": "a.csv", "content_type": "text/csv"}),
            "UploadResponse",
        )
        for control in ("stop-task", "pause-task", "resume-task"):  # not allowed on a finished task
            assert client.put(f"/{control}", params={"task_id": task_id}).status_code == 409


def test_run_pause_resume_finish_sends_the_official_webhook_statuses(
    stack: Stack, model: ScriptedModelServer, site: SiteServer, receiver: WebhookReceiver
) -> None:
    path = f"/sequence-{stack.kind}"
    with stack.client(new_key(stack, "webhook-sequence")) as client:
        assert client.put("/webhook", json={"url": receiver.url(path)}).status_code == 200
        script = model.script(
            [
                answer("Open", {"navigate": {"url": site.url + "/"}}),
                {"_delay": 2.0, "reply": answer("Finish", {"done": {"text": "done"}})},
            ]
        )
        task_id = ok(client.post("/run-task", json={"task": f"Wait [script:{script}]"}), "TaskCreatedResponse")["id"]
        poll("the first step", lambda: client.get(f"/task/{task_id}").json()["steps"], timeout=60)
        assert ok(client.put("/pause-task", params={"task_id": task_id}), "Empty") == {}
        wait_for(client, task_id, {"paused"})
        assert ok(client.put("/resume-task", params={"task_id": task_id}), "Empty") == {}
        assert wait_for(client, task_id, FINAL)["status"] == "finished"
        events = poll("the finished event", lambda: _has(receiver.at(path), task_id, "finished"), timeout=30)
    for event in events:
        assert_conforms("WebhookEvent", event)
    assert _statuses(events, task_id) == ["initializing", "started", "paused", "started", "finished"]


def test_a_failed_task_sends_stopped(
    stack: Stack, model: ScriptedModelServer, site: SiteServer, receiver: WebhookReceiver
) -> None:
    path = f"/failed-{stack.kind}"
    with stack.client(new_key(stack, "webhook-failed")) as client:
        assert client.put("/webhook", json={"url": receiver.url(path)}).status_code == 200
        script = model.script([answer("Open", {"navigate": {"url": site.url + "/"}})])
        task_id = client.post(
            "/run-task", json={"task": f"Never done [script:{script}]", "max_agent_steps": 1, "metadata": {"ref": "f"}}
        ).json()["id"]
        assert wait_for(client, task_id, FINAL)["status"] == "failed"
        events = poll("the ending event", lambda: _has(receiver.at(path), task_id, "stopped"), timeout=30)
    assert _statuses(events, task_id) == ["initializing", "started", "stopped"]
    assert all(e["payload"]["metadata"] == {"ref": "f"} for e in events if e["type"] != "test")


def _statuses(events: list[dict[str, Any]], task_id: str) -> list[str]:
    mine = sorted((e for e in events if e.get("payload", {}).get("task_id") == task_id), key=lambda e: e["timestamp"])
    return [e["payload"]["status"] for e in mine]


def _has(got: list[Received], task_id: str, status: str) -> list[dict[str, Any]] | None:
    events = [r.body for r in got if r.body.get("type") != "test"]
    return events if status in _statuses(events, task_id) else None


# -- model names --------------------------------------------------------------


def test_every_official_model_name_is_accepted_or_says_which_provider_to_configure(stack: Stack) -> None:
    """This stack configures only an OpenAI-compatible server: the other providers'
    names are refused with what to set (they run below, on a stack that has them)."""
    with stack.client(new_key(stack, "models")) as client:
        for name in llm_models():
            response = client.post("/run-task", json={"task": "x", "llm_model": name, "max_agent_steps": 1})
            if name in OPENAI_MODELS:
                assert response.status_code == 200, (name, response.text)
                client.put("/stop-task", params={"task_id": response.json()["id"]})
                continue
            detail = refused(response, "body")
            assert detail[0]["loc"] == ["body", "llm_model"] and "unknown" not in detail[0]["msg"], detail
            assert any(
                word in detail[0]["msg"] for word in ("GEMINI_API_KEY", "ANTHROPIC_API_KEY", "BROWSERQ_LLAMA_BASE_URL")
            ), detail


@pytest.fixture(scope="module")
def all_providers(model: ScriptedModelServer) -> Iterator[Stack]:
    """Every provider pointed at the scripted model server (which speaks both wire formats)."""
    stack = Stack(
        kind="embedded",
        model_base_url=model.base_url,
        env_extra={
            "GEMINI_API_KEY": "test-key",
            "GEMINI_BASE_URL": model.base_url,
            "ANTHROPIC_API_KEY": "test-key",
            "ANTHROPIC_BASE_URL": model.anthropic_base_url,
            "BROWSERQ_LLAMA_BASE_URL": model.base_url,
        },
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_every_official_model_name_runs_a_task(all_providers: Stack, model: ScriptedModelServer) -> None:
    with all_providers.client() as client:
        started = {}
        for name in llm_models():
            script = model.script([answer("Finish", {"done": {"text": name}})])
            response = client.post("/run-task", json={"task": f"Say [script:{script}]", "llm_model": name})
            assert response.status_code == 200, (name, response.text)
            started[name] = response.json()["id"]
        for name, task_id in started.items():
            task = wait_for(client, task_id, FINAL, timeout=90)
            assert (task["status"], task["output"]) == ("finished", name), task


# -- schedules ----------------------------------------------------------------


def test_schedule_routes_take_nulls_and_answer_in_the_official_shapes(stack: Stack) -> None:
    body = {
        **explicit_nulls("ScheduledTaskRequest"),
        "task": "every hour",
        "schedule_type": "interval",
        "interval_minutes": 60,
        "start_at": "2030-01-01T09:00:00Z",
    }
    with stack.client(new_key(stack, "schedules")) as client:
        schedule_id = ok(client.post("/scheduled-task", json=body), "TaskCreatedResponse")["id"]
        view = ok(client.get(f"/scheduled-task/{schedule_id}"), "ScheduledTaskResponse")
        assert view["next_run_at"] == "2030-01-01T10:00:00Z"  # start_at + the interval, as the official example
        assert (
            view["llm_model"],
            view["use_adblock"],
            view["use_proxy"],
            view["save_browser_data"],
            view["highlight_elements"],
            view["max_agent_steps"],
            view["browser_viewport_width"],
        ) == ("gpt-4.1", True, True, False, True, 75, 1280)
        page = ok(client.get("/scheduled-tasks", params={"page": 1, "limit": 10}), "ListScheduledTasksResponse")
        assert [t["id"] for t in page["tasks"]] == [schedule_id]

        nulls = {name: None for name in explicit_nulls("UpdateScheduledTaskRequest")} | {"task": None}
        same = ok(client.put(f"/scheduled-task/{schedule_id}", json=nulls), "ScheduledTaskResponse")
        assert _without(same, "updated_at") == _without(view, "updated_at")  # null: unchanged
        paused = ok(client.put(f"/scheduled-task/{schedule_id}", json={"is_active": False}), "ScheduledTaskResponse")
        assert paused["is_active"] is False and paused["next_run_at"] == "2030-01-01T10:00:00Z"

        for bad in (
            {"interval_minutes": 0},
            {"schedule_type": "cron"},
            {"end_at": "2000-01-01T00:00:00Z"},
            {"task": ""},
            {"llm_model": "no-such-model"},
        ):
            refused(client.put(f"/scheduled-task/{schedule_id}", json=bad), "body")
            refused(client.post("/scheduled-task", json={**body, **bad}), "body")
        assert ok(client.delete(f"/scheduled-task/{schedule_id}"), "Empty") == {}


def _without(view: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in keys}


# -- browser profiles ---------------------------------------------------------


def test_profile_routes_take_nulls_and_answer_in_the_official_shapes(stack: Stack) -> None:
    with stack.client(new_key(stack, "profiles")) as client:
        body = {**explicit_nulls("BrowserProfileRequest"), "profile_name": "p"}
        created = ok(client.post("/browser-profiles", json=body), "BrowserProfileResponse")
        assert _without(created, "profile_id") == {
            "profile_name": "p",
            "description": "",
            "persist": True,
            "ad_blocker": True,
            "proxy": True,
            "proxy_country_code": "US",
            "browser_viewport_width": 1280,
            "browser_viewport_height": 960,
        }
        profile_id = created["profile_id"]
        assert ok(client.get(f"/browser-profiles/{profile_id}"), "BrowserProfileResponse") == created
        ok(client.get("/browser-profiles", params={"page": 1, "limit": 10}), "ListBrowserProfilesResponse")
        nulls = explicit_nulls("UpdateBrowserProfileRequest")
        assert ok(client.put(f"/browser-profiles/{profile_id}", json=nulls), "BrowserProfileResponse") == created
        changed = ok(
            client.put(f"/browser-profiles/{profile_id}", json={**nulls, "ad_blocker": False}), "BrowserProfileResponse"
        )
        assert changed == {**created, "ad_blocker": False}
        for bad in ({"proxy_country_code": "zz"}, {"browser_viewport_width": 10}, {"profile_name": " "}):
            refused(client.put(f"/browser-profiles/{profile_id}", json=bad), "body")
            refused(client.post("/browser-profiles", json={"profile_name": "p", **bad}), "body")
        assert ok(client.delete(f"/browser-profiles/{profile_id}"), "Empty") == {}


def test_delete_browser_profile_for_user_forgets_the_saved_cookies(
    stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    set_cookie = site.add_page("conf-set-cookie", "<p>Set.</p><script>document.cookie = 'kept=yes; path=/'</script>")
    show = site.add_page(
        "conf-show-cookie",
        "<p id=c></p><script>document.getElementById('c').textContent = 'cookies: ' + document.cookie</script>",
    )
    with stack.client(new_key(stack, "forget")) as client:
        profile_id = client.post("/browser-profiles", json={"profile_name": "kept"}).json()["profile_id"]

        def run(url: str) -> list[str]:
            script = model.script(
                [answer("Open", {"navigate": {"url": url}}), answer("Finish", {"done": {"text": "x"}})]
            )
            task_id = client.post(
                "/run-task", json={"task": f"Visit [script:{script}]", "browser_profile_id": profile_id}
            ).json()["id"]
            assert wait_for(client, task_id, FINAL)["status"] == "finished"
            return [str(r["messages"]) for r in model.calls(script)["requests"]]

        run(set_cookie)
        assert "cookies: kept=yes" in run(show)[1]  # the profile carried it over
        assert ok(client.post("/delete-browser-profile-for-user"), "Empty") == {}
        assert "kept=yes" not in run(show)[1]
        assert client.get(f"/browser-profiles/{profile_id}").status_code == 200  # the profile itself stays


# -- the one 422 shape --------------------------------------------------------


def test_every_refusal_has_the_one_422_shape(stack: Stack) -> None:
    with stack.client() as client:
        refused(client.post("/run-task", json={"task": ""}), "body")
        refused(client.post("/run-task", json={"task": "x", "max_agent_steps": 0}), "body")
        refused(client.post("/run-task", json={"task": "x", "llm_model": "no-such-model"}), "body")
        refused(client.post("/run-task", content=b"{not json", headers={"content-type": "application/json"}), "body")
        refused(client.post("/uploads/presigned-url", json={"file_name": "a.csv"}), "body")
        refused(client.get("/tasks", params={"page": 0}), "query")
        refused(client.put("/stop-task"), "query")

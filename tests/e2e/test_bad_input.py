"""Input that used to get a 500 gets a 422 in the documented shape, on
PostgreSQL and SQLite: non-finite numbers, lone surrogates and NUL characters
anywhere (body, query, path), dates out of range, cron expressions that never
fire, malformed webhook URLs. Sent as raw bytes, the way a hostile client would."""

from __future__ import annotations

import httpx
import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

ROUTES = [
    ("POST", "/api/v1/run-task", '{"task": "x", "max_agent_steps": %s}'),
    ("POST", "/api/v1/scheduled-task", '{"task": "x", "schedule_type": "interval", "interval_minutes": %s}'),
    ("PUT", "/api/v1/webhook", '{"url": "http://127.0.0.1:9/", "n": %s}'),
    ("POST", "/api/v1/browser-profiles", '{"profile_name": "p", "browser_viewport_width": %s}'),
    ("POST", "/api/v1/uploads/presigned-url", '{"file_name": "a.txt", "content_type": "text/plain", "size": %s}'),
    ("POST", "/api/v2/tasks", '{"task": "x", "maxSteps": %s}'),
]


def _send(stack: Stack, method: str, path: str, raw: str | bytes) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {stack.key}",
        "X-Browser-Use-API-Key": stack.key,
        "Content-Type": "application/json",
    }
    content = raw.encode() if isinstance(raw, str) else raw
    return httpx.request(method, stack.url + path, content=content, headers=headers, timeout=30)


def _assert_422(response: httpx.Response, says: str, loc: list | None = None) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    assert all({"loc", "msg", "type"} <= set(item) for item in detail), detail
    assert any(says in item["msg"] for item in detail), detail
    if loc is not None:
        assert any(item["loc"] == loc for item in detail), detail


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999999"])
@pytest.mark.parametrize(("method", "path", "template"), ROUTES, ids=[r[1] for r in ROUTES])
def test_non_finite_numbers_are_422(stack: Stack, method: str, path: str, template: str, number: str) -> None:
    _assert_422(_send(stack, method, path, template % number), "not a finite number")


@pytest.mark.parametrize(("method", "path", "template"), ROUTES, ids=[r[1] for r in ROUTES])
def test_lone_surrogates_and_nul_are_422_everywhere(stack: Stack, method: str, path: str, template: str) -> None:
    body = template % "1"
    for text, says in [
        ("\\ud800", "lone UTF-16 surrogate"),
        ("\\udfff", "lone UTF-16 surrogate"),
        ("x\\u0000y", "NUL character"),
    ]:
        in_value = body[:-1] + f', "extra": ["ok", {{"deep": "{text}"}}]}}'
        _assert_422(_send(stack, method, path, in_value), says, ["body", "extra", 1, "deep"])
        in_key = body[:-1] + f', "metadata": {{"{text}": "v"}}}}'
        _assert_422(_send(stack, method, path, in_key), says)


def test_a_nul_or_surrogate_in_the_task_text_is_named(stack: Stack) -> None:
    for raw, says in [('{"task": "\\ud800"}', "surrogate"), ('{"task": "x\\u0000"}', "NUL")]:
        _assert_422(_send(stack, "POST", "/api/v1/run-task", raw), says, ["body", "task"])
    # A surrogate pair is one real character, and goes through.
    response = _send(stack, "POST", "/api/v1/run-task", '{"task": "smile \\ud83d\\ude00", "llm_model": "gpt-9000"}')
    _assert_422(response, "unknown llm_model", ["body", "llm_model"])


def test_nul_in_the_query_or_path_is_422(stack: Stack) -> None:
    with stack.client() as client:
        _assert_422(client.get("/tasks", params={"status": "finished\x00"}), "NUL", ["query", "status"])
        _assert_422(client.get("/task/abc%00def"), "NUL", ["path"])
        _assert_422(client.get("/scheduled-task/x%00"), "NUL", ["path"])
    v2 = httpx.get(
        stack.url + "/api/v2/tasks", params={"filterBy": "x\x00"}, headers={"X-Browser-Use-API-Key": stack.key}
    )
    _assert_422(v2, "NUL", ["query", "filterBy"])


def test_a_nul_schedule_is_refused_and_never_stored(stack: Stack) -> None:
    raw = '{"task": "x\\u0000", "schedule_type": "interval", "interval_minutes": 600}'
    _assert_422(_send(stack, "POST", "/api/v1/scheduled-task", raw), "NUL", ["body", "task"])
    with stack.client() as client:
        assert client.get("/scheduled-tasks").json()["total_count"] == 0 or all(
            "\x00" not in s["task"] for s in client.get("/scheduled-tasks").json()["tasks"]
        )


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"start_at": "9999-12-31T00:00:00Z"}, "start_at must be between"),
        ({"start_at": "0001-01-01T00:00:00+14:00"}, "start_at must be between"),
        ({"end_at": "9999-12-31T23:59:59-23:59"}, "end_at must be between"),
        ({"schedule_type": "cron", "cron_expression": "* * 31 2 *"}, "never fires"),
        ({"schedule_type": "cron", "cron_expression": "0 0 30 2 *"}, "never fires"),
    ],
)
def test_schedule_dates_and_crons_that_cannot_be_are_422(stack: Stack, fields: dict, says: str) -> None:
    body = {"task": "x", "schedule_type": "interval", "interval_minutes": 60, **fields}
    with stack.client() as client:
        response = client.post("/scheduled-task", json=body)
        _assert_422(response, says)
        created = client.post(
            "/scheduled-task", json={"task": "x", "schedule_type": "interval", "interval_minutes": 60}
        )
        assert created.status_code == 200, created.text
        schedule_id = created.json()["id"]
        try:
            _assert_422(client.put(f"/scheduled-task/{schedule_id}", json=fields), says)
        finally:
            client.delete(f"/scheduled-task/{schedule_id}")


def test_a_cron_on_29_february_is_taken(stack: Stack) -> None:
    body = {"task": "x", "schedule_type": "cron", "cron_expression": "0 0 29 2 *"}
    with stack.client() as client:
        response = client.post("/scheduled-task", json=body)
        assert response.status_code == 200, response.text
        client.delete(f"/scheduled-task/{response.json()['id']}")


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://[::1/x",
        "http://a\u0080b/",
        "http://a..b/",
        "http://127.0.0.1:99999/",
        "http://" + "a" * 70 + ".com/",
    ],
)
def test_malformed_webhook_urls_are_422(stack: Stack, url: str) -> None:
    with stack.client() as client:
        response = client.put("/webhook", json={"url": url})
    _assert_422(response, "URL", ["body", "url"])


@pytest.mark.parametrize("query", ["after=9999-12-31T23:59:59-23:59", "before=0001-01-01T00:00:00%2B14:00"])
def test_v2_list_dates_past_the_calendar_are_422(stack: Stack, query: str) -> None:
    response = httpx.get(f"{stack.url}/api/v2/tasks?{query}", headers={"X-Browser-Use-API-Key": stack.key})
    _assert_422(response, "outside the years", ["query", query.split("=")[0]])


def test_integers_too_long_to_read_are_422(stack: Stack) -> None:
    _assert_422(_send(stack, "POST", "/api/v1/run-task", '{"task": "x", "max_agent_steps": %s}' % ("9" * 5000)), "")

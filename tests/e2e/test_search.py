"""Search endpoints: an agent task behind a synchronous answer, starting from
the configured search engine (here a results page on the test site), with a
step budget from depth, and a 504 (task stopped) past the time limit."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote_plus

import pytest

from tests.e2e.test_tasks_api import FINAL
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
TIME_LIMIT = 12.0


@pytest.fixture(scope="module")
def search_stack(model: ScriptedModelServer, site: SiteServer) -> Iterator[Stack]:
    """Embedded, with the test site as the search engine and a short time limit."""
    env = {
        "BROWSERQ_SEARCH_URL_TEMPLATE": f"{site.url}/p/search-results?q={{query}}",
        "BROWSERQ_SEARCH_TIMEOUT_SECONDS": str(TIME_LIMIT),
    }
    stack = Stack(kind="embedded", model_base_url=model.base_url, env_extra=env, concurrency=1)
    try:
        stack.start()
        with stack.client() as client:  # a first task starts the worker's browser, outside any time limit
            wait_for(client, client.post("/run-task", json={"task": "warm up"}).json()["id"], FINAL)
        yield stack
    finally:
        stack.stop()


def first_prompt(model: ScriptedModelServer, key: str) -> str:
    return str(model.calls(key)["requests"][0]["messages"])


def test_simple_search_browses_from_the_results_page(
    search_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    site.add_page("search-results", '<h1>Results</h1><a href="/p/result-a">Result A: widgets</a>')
    page_a = site.add_page("result-a", "<h1>Widgets</h1><p>Widgets cost 5 euros.</p>")
    query = "widget prices"
    key = model.script(
        [
            answer("Open the results", {"navigate": {"url": f"{site.url}/p/search-results?q={quote_plus(query)}"}}),
            answer("Open result A", {"click": {"index": "@text:Result A"}}),
            answer("Report", {"done": {"data": {"results": [{"url": page_a, "content": "Widgets cost 5 euros."}]}}}),
        ]
    )
    with search_stack.client() as client:
        response = client.post("/simple-search", json={"query": f"{query} [script:{key}]", "max_websites": 3})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["results"] == [{"url": page_a, "content": "Widgets cost 5 euros."}]
        assert client.get(f"/task/{body['task_id']}").json()["steps"][2]["url"] == page_a
    prompt = first_prompt(model, key)
    # The configured engine, with the query encoded; the budget from max_websites=3, depth=2.
    assert f"{site.url}/p/search-results?q={quote_plus(query + ' [script:' + key + ']')}" in prompt
    assert "Step 1 of at most 14" in prompt and not model.calls(key)["unresolved"]


def test_search_url_reads_one_site(search_stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    page = site.add_page("opening-hours", "<h1>Shop</h1><p>Open 9 to 5.</p>")
    key = model.script(
        [
            answer("Open the page", {"navigate": {"url": page}}),
            answer("Report", {"done": {"data": {"content": "Open 9 to 5."}}}),
        ]
    )
    with search_stack.client() as client:
        response = client.post("/search-url", json={"url": page, "query": f"opening hours [script:{key}]", "depth": 3})
    assert response.status_code == 200, response.text
    assert {k: v for k, v in response.json().items() if k != "task_id"} == {"url": page, "content": "Open 9 to 5."}
    assert "Step 1 of at most 7" in first_prompt(model, key)


def test_a_search_past_the_time_limit_is_504_and_its_task_stopped(
    search_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    key = model.script([{"_delay": 60.0, "reply": answer("Finish", {"done": {"data": {"content": "late"}}})}])
    with search_stack.client() as client:
        response = client.post("/search-url", json={"url": site.url, "query": f"anything [script:{key}]"}, timeout=60)
        assert response.status_code == 504, response.text
        detail = response.json()["detail"]
        assert f"within {TIME_LIMIT:.0f} s" in detail
        tasks = client.get("/tasks", params={"limit": 100}).json()["tasks"]
        task = next(t for t in tasks if key in t["task"])
        assert task["id"] in detail and task["status"] == "stopped"


def test_a_failed_search_is_502(search_stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    key = model.script([answer("Wait", {"wait": {"seconds": 0.05}})] * 5)
    with search_stack.client() as client:
        response = client.post("/search-url", json={"url": site.url, "query": f"nothing [script:{key}]"})
    assert response.status_code == 502 and "failed" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/simple-search", {"query": "x", "depth": 1}, "depth"),
        ("/simple-search", {"query": "x", "max_websites": 11}, "max_websites"),
        ("/simple-search", {"query": "   "}, "query"),
        ("/search-url", {"query": "x", "url": "ftp://example.com"}, "url"),
        ("/search-url", {"query": "x"}, "url"),
    ],
)
def test_bad_search_requests_are_422(search_stack: Stack, path: str, body: dict, field: str) -> None:
    with search_stack.client() as client:
        response = client.post(path, json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field

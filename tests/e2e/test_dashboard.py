"""The /ui dashboard in a real headless Chromium, used as a person would: sign
in with a key, find tasks by status, open a run and read its timeline, output
and files, watch a running task live and steer it with the buttons. Each page
the test looks at is saved as a screenshot (in BROWSERQ_UI_SCREENSHOTS, or the
test's tmp folder), and the folder is printed when a test fails."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.person import person_browser
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack, poll, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
NOTES = "Opening hours: 9 to 5\n"
HOSTILE = '<img src=x onerror="window.pwned=1">'
# An output file that would read the dashboard's key if it ever ran as a page of its origin.
STEALER = "<script>fetch('/stolen?' + sessionStorage.getItem('browserq.apiKey'))</script>"


@pytest.fixture(scope="module")
def viewer() -> Iterator[Browser]:
    with person_browser() as browser:
        yield browser


class Person:
    """One tab of the person's browser, saving a screenshot of each page looked at."""

    def __init__(self, page: Page, shots: Path) -> None:
        self.page, self.shots, self.taken = page, shots, 0

    def shot(self, name: str) -> Path:
        self.taken += 1
        path = self.shots / f"{self.taken:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, stack: Stack, key: str | None = None) -> None:
        self.page.goto(f"{stack.url}/ui")
        self.page.fill("#key-input", key or stack.key)
        self.page.click("#key-form button[type=submit]")
        expect(self.page.locator("#tasks")).to_be_visible()


@pytest.fixture
def person(viewer: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Person]:
    shots = Path(os.environ.get("BROWSERQ_UI_SCREENSHOTS") or tmp_path) / request.node.name
    shots.mkdir(parents=True, exist_ok=True)
    context = viewer.new_context(viewport={"width": 1280, "height": 900})
    someone = Person(context.new_page(), shots)
    failed_before = request.session.testsfailed
    yield someone
    if request.session.testsfailed > failed_before:
        print(f"dashboard screenshots: {someone.shot('at-failure')} and the others in {shots}")
    context.close()


def submit(client: httpx.Client, text: str) -> str:
    response = client.post("/run-task", json={"task": text, "max_agent_steps": 10})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def finished_run(model: ScriptedModelServer, site: SiteServer, client: httpx.Client) -> str:
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}, evaluation="Nothing yet"),
            answer(
                "Note the hours",
                {"write_file": {"file_name": "notes.txt", "content": NOTES}},
                evaluation="The site is open",
            ),
            answer(
                "Save a page",
                {"write_file": {"file_name": "page.html", "content": STEALER}},
                evaluation="The notes are written",
            ),
            answer("Report the hours", {"done": {"text": "Open 9 to 5"}}, evaluation="The page is saved"),
        ]
    )
    return submit(client, f"Find the opening hours [script:{key}]")


def test_sign_in_list_filter_and_read_a_run(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer, person: Person
) -> None:
    with pg_stack.client() as client:
        done_id = finished_run(model, site, client)
        hostile_id = submit(client, f"{HOSTILE} [script:{model.script([answer('Finish', {'done': {'text': 'x'}})])}]")
        slow = model.script([{"_delay": 30.0, "reply": answer("Finish", {"done": {"text": "late"}})}])
        stopped_id = submit(client, f"Wait a while [script:{slow}]")
        assert client.put(f"/stop-task/{stopped_id}").status_code == 200
        for task_id in (done_id, hostile_id, stopped_id):
            wait_for(client, task_id, FINAL, timeout=120)
    page = person.page

    page.goto(f"{pg_stack.url}/ui")
    expect(page.locator("#sign-in")).to_be_visible()
    person.shot("sign-in")
    page.fill("#key-input", "bq_not_a_key")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#sign-in-error")).to_contain_text("That key was refused")
    person.shot("sign-in-refused")

    person.sign_in(pg_stack)
    rows = page.locator("#rows tr")
    expect(page.locator(f"#rows tr[data-id='{done_id}']")).to_be_visible()
    person.shot("task-list")
    assert page.evaluate("sessionStorage.getItem('browserq.apiKey')") == pg_stack.key
    assert page.evaluate("document.cookie") == "" and page.context.cookies() == []  # no cookie to ride on
    done_row = page.locator(f"#rows tr[data-id='{done_id}']")
    expect(done_row.locator(".status")).to_have_text("finished")
    expect(done_row.locator("td.age")).to_contain_text("ago")
    expect(done_row.locator("td.cost")).not_to_be_empty()
    # A task's text is shown as text: the page runs nothing a task says.
    expect(page.locator(f"#rows tr[data-id='{hostile_id}'] td.task")).to_contain_text(HOSTILE)
    assert page.evaluate("window.pwned") is None

    page.click("#filters button[data-status=stopped]")
    expect(page.locator(f"#rows tr[data-id='{stopped_id}']")).to_be_visible()
    expect(rows.filter(has_not=page.locator(".status-stopped"))).to_have_count(0)
    assert "status=stopped" in page.url
    person.shot("filter-stopped")
    page.click("#filters button[data-status=finished]")
    expect(page.locator(f"#rows tr[data-id='{done_id}']")).to_be_visible()
    expect(page.locator(f"#rows tr[data-id='{stopped_id}']")).to_have_count(0)

    page.click(f"#rows tr[data-id='{done_id}'] td.task a")
    page.wait_for_url(f"**/ui/task/{done_id}")
    steps = page.locator("#steps li.step")
    expect(steps).to_have_count(4)
    expect(page.locator("#status")).to_have_text("finished")
    expect(page.locator("#output")).to_have_text("Open 9 to 5")
    for i, (goal, evaluation) in enumerate(
        [
            ("Open the site", "Nothing yet"),
            ("Note the hours", "The site is open"),
            ("Save a page", "The notes are written"),
            ("Report the hours", "The page is saved"),
        ]
    ):
        expect(steps.nth(i).locator(".step-goal")).to_have_text(goal)
        expect(steps.nth(i).locator(".step-eval")).to_have_text(evaluation)
    expect(steps.nth(1).locator(".step-url")).to_contain_text(site.url)
    page.wait_for_function("[...document.querySelectorAll('#steps img.step-shot')].every(i => i.complete)")
    widths = page.eval_on_selector_all("#steps img.step-shot", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 4 and all(w > 0 for w in widths), widths  # each screenshot really loads
    link = page.locator("#files a", has_text="notes.txt")
    expect(link).to_have_attribute("href", re.compile(r"^https?://"))
    assert httpx.get(link.get_attribute("href") or "", timeout=10).text == NOTES
    # The agent's HTML file comes as a download in a sandbox: it never runs as a page that could read the key.
    stealer = httpx.get(page.locator("#files a", has_text="page.html").get_attribute("href") or "", timeout=10)
    assert stealer.text == STEALER
    assert stealer.headers["content-disposition"].startswith("attachment")
    assert stealer.headers["content-security-policy"].startswith("sandbox")
    for button in ("#pause", "#resume", "#stop"):
        expect(page.locator(button)).to_be_disabled()  # nothing to steer in a finished task
    expect(page.locator("#live-box")).to_be_hidden()
    person.shot("finished-task")
    with page.expect_download() as download:  # the run as a Playwright script (tests/e2e/test_export.py runs one)
        page.click("#export")
    assert download.value.suggested_filename == f"browserq_{done_id[:8]}.py"
    script = Path(download.value.path()).read_text()
    assert "from playwright.sync_api import" in script and 'return "Open 9 to 5"' in script

    page.reload()  # the key survives a reload of the tab
    expect(page.locator("#steps li.step")).to_have_count(4)


def test_watch_a_running_task_and_steer_it(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer, person: Person
) -> None:
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            {"_delay": 1.0, "reply": answer("Look around", {"scroll": {"down": True}})},
            {"_repeat": 8, "reply": {"_delay": 2.0, "reply": answer("Keep looking", {"scroll": {"down": True}})}},
        ]
    )
    with pg_stack.client() as client:
        task_id = submit(client, f"Look around the site [script:{key}]")
        person.sign_in(pg_stack)
        page = person.page
        page.goto(f"{pg_stack.url}/ui/task/{task_id}")
        expect(page.locator("#status")).to_have_text("running", timeout=60_000)
        expect(page.locator("#live-box")).to_be_visible()
        live = page.frame_locator("#live")
        expect(live.locator("#screen")).to_be_visible(timeout=30_000)  # the browser's frames arrive
        expect(page.locator("#steps li.step").first).to_be_visible(timeout=30_000)
        person.shot("running-task-live")

        page.click("#pause")
        expect(page.locator("#status")).to_have_text("paused", timeout=30_000)
        assert client.get(f"/task/{task_id}/status").json() == "paused"
        expect(page.locator("#resume")).to_be_enabled()
        expect(page.locator("#pause")).to_be_disabled()
        person.shot("paused-task")

        page.click("#resume")
        poll("the resume", lambda: client.get(f"/task/{task_id}/status").json() in {"running", "created"})
        expect(page.locator("#pause")).to_be_enabled(timeout=30_000)

        page.click("#stop")
        expect(page.locator("#status")).to_have_text("stopped", timeout=30_000)
        assert client.get(f"/task/{task_id}/status").json() == "stopped"
        expect(page.locator("#live-box")).to_be_hidden()
        for button in ("#pause", "#resume", "#stop"):
            expect(page.locator(button)).to_be_disabled()
        person.shot("stopped-task")


def test_another_key_sees_none_of_it(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer, person: Person
) -> None:
    with pg_stack.client() as client:
        task_id = submit(client, f"Mine [script:{model.script([answer('Finish', {'done': {'text': 'mine'}})])}]")
    other_key = pg_stack.cli("keys", "create", "dashboard-other").strip().splitlines()[-1]
    person.sign_in(pg_stack, other_key)
    page = person.page
    expect(page.locator("#no-tasks")).to_be_visible()
    expect(page.locator(f"#rows tr[data-id='{task_id}']")).to_have_count(0)
    page.goto(f"{pg_stack.url}/ui/task/{task_id}")
    expect(page.locator("#page-error")).to_contain_text("Task not found")
    expect(page.locator("#layout")).to_be_hidden()
    person.shot("other-key-task")
    # No other site may frame the dashboard (it holds a key), and it sets no cookie.
    response = httpx.get(f"{pg_stack.url}/ui", timeout=10)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "set-cookie" not in response.headers


def test_answer_the_agents_question_from_the_task_page(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer, person: Person
) -> None:
    question = "Which colour should I pick: red or blue?"
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            answer("Ask which colour", {"ask_human": {"question": question}}),
            answer("Finish", {"done": {"text": "picked"}}),
        ]
    )
    with pg_stack.client() as client:
        task_id = submit(client, f"Pick a colour [script:{key}]")
        person.sign_in(pg_stack)
        page = person.page
        page.goto(f"{pg_stack.url}/ui/task/{task_id}")
        expect(page.locator("#question-box")).to_be_visible(timeout=90_000)
        expect(page.locator("#question")).to_have_text(question)
        expect(page.locator("#status")).to_have_text("paused")
        live = page.frame_locator("#live")  # the live view beside it asks nothing: one answer box
        expect(live.locator("#status")).to_have_text("paused", timeout=30_000)
        expect(live.locator("#question-box")).to_be_hidden()
        person.shot("task-waits-for-a-person")
        page.fill("#answer-input", "blue")
        page.click("#answer-form button[type=submit]")
        expect(page.locator("#status")).to_have_text("finished", timeout=90_000)
        expect(page.locator("#question-box")).to_be_hidden()
        expect(page.locator("#output")).to_have_text("picked")
        assert "blue" in json.dumps(model.calls(key)["requests"][-1])  # the model read the answer
        expect(page.locator("#fact-cost")).not_to_have_text("—")  # tokens were counted
        person.shot("answered-task")
        page.goto(f"{pg_stack.url}/ui")
        expect(page.locator(f"#rows tr[data-id='{task_id}'] td.cost")).not_to_have_text("—")
        person.shot("task-list-with-cost")


def test_start_a_task_from_the_form_see_it_succeed_and_play_its_recording(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer, person: Person
) -> None:
    """The dashboard as a client: the "new task" form sends what any client sends (refusals
    shown as the server words them), then the task page says whether the run succeeded
    and plays its recording."""
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            answer("Report the hours", {"done": {"data": {"hours": "9 to 5"}, "success": True}}),
        ]
    )
    person.sign_in(pg_stack)
    page = person.page
    page.click("#new-task summary")
    page.fill("#new-text", f"Find the opening hours [script:{key}]")
    page.fill("#new-model", "browser-use-llm")  # Cloud's own: refused until the operator names a default
    page.click("#new-submit")
    expect(page.locator("#new-error")).to_contain_text("BROWSERQ_DEFAULT_MODEL")
    page.fill("#new-model", "gpt-4.1")
    page.fill("#new-schema", "{not json")
    page.click("#new-submit")
    expect(page.locator("#new-error")).to_contain_text("not JSON")
    page.fill("#new-schema", json.dumps({"type": "object", "properties": {"hours": {"type": "string"}}}))
    page.fill("#new-steps", "5")
    page.fill("#new-domains", "127.0.0.1, example.com")
    page.click("#add-secret")
    page.fill("#new-secrets .secret-name", "password")
    page.fill("#new-secrets .secret-value", "hunter2-sekret")
    expect(page.locator("#new-secrets .secret-value")).to_have_attribute("type", "password")  # masked
    person.shot("new-task-form")
    page.click("#new-submit")
    page.wait_for_url(re.compile(r".*/ui/task/[0-9a-f-]+$"))
    task_id = page.url.rsplit("/", 1)[1]

    expect(page.locator("#status")).to_have_text("finished", timeout=90_000)
    expect(page.locator("#fact-result")).to_have_text("succeeded")
    expect(page.locator("#output")).to_contain_text("9 to 5")
    expect(page.locator("#recording")).to_be_visible()
    page.wait_for_function("document.getElementById('recording').readyState >= 1", timeout=30_000)
    assert page.evaluate("document.getElementById('recording').videoWidth") > 0  # a real video loaded
    person.shot("task-started-from-the-form")

    first = model.calls(key)["requests"][0]
    assert first["model"] == "gpt-4.1"
    prompt = json.dumps(first)
    assert "password" in prompt and "hunter2-sekret" not in prompt  # the secret's name, never its value
    with pg_stack.client() as client:
        task = client.get(f"/task/{task_id}").json()
    assert json.loads(task["output"]) == {"hours": "9 to 5"}

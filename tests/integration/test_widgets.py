"""Page state and actions on script-built widgets in a real Chromium
(tests/support/widgets.py): a jQuery UI autocomplete whose suggestions must
be listed one by one after typing, dropdowns of `<div>`s made clickable by
listeners only, and menus whose roles sit on the container alone. Each page
is opened in a context set up as a task's is (BrowserSession.start installs
the listener probe); the test acts on it as the model would, through
`run_action`, finding elements by the text of their lines."""

from __future__ import annotations

import http.server
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from tests.integration.test_page_state import Env
from tests.support import widgets
from worker.agent import protocol as p
from worker.agent.actions import ActionContext, ActionResult, run_action
from worker.browser.actionable import TypingTarget, prepare_typing
from worker.browser.page_state import ElementGone, PageState, capture_page_state
from worker.browser.session import BrowserSession
from worker.browser.suggestions import wait_for_suggestions


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("widget-pages")
    shutil.copytree(widgets.FIXTURES, root / "fixtures" / "widgets")
    for name, html in {
        "autocomplete.html": widgets.AUTOCOMPLETE,
        "dropdowns.html": widgets.DROPDOWNS,
        "roles.html": widgets.ROLES,
        "react.html": widgets.REACT_PICKER,
    }.items():
        (root / name).write_text(html, encoding="utf-8")
    e = Env(root)
    yield e
    e.close()


class Driver:
    """One task-like session on one page: look (page state) and act (by element text)."""

    def __init__(self, session: BrowserSession, page: Page, files: Path) -> None:
        self.session, self.page, self.files = session, page, files
        self.state: PageState | None = None

    async def look(self) -> PageState:
        self.state = await capture_page_state(self.page, self.state.descriptions() if self.state else None)
        return self.state

    def lines(self) -> list[str]:
        assert self.state is not None
        return [f"[{i}]{ref.description}" for i, ref in self.state.elements.items()]

    def index_of(self, needle: str) -> int:
        """The first element line with `needle` in it, as the scripted model's `@text:` finds it."""
        assert self.state is not None
        found = [i for i, ref in self.state.elements.items() if needle in ref.description]
        assert found, (needle, self.state.text)
        return found[0]

    async def act(self, name: str, **params: Any) -> ActionResult:
        assert self.state is not None
        result = await run_action(
            ActionContext(self.session, self.state, {}, self.files), p.parse_action({name: params})
        )
        assert result.error is None, result.error
        return result


def drive(env: Env, tmp: Path, path: str, body: Callable[[Driver], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        context = await env.browser.new_context(viewport={"width": 1280, "height": 720})
        try:
            session = BrowserSession(context, tmp / "downloads")
            page = await session.start()
            await page.goto(f"{env.base}/{path}")
            driver = Driver(session, page, tmp)
            await driver.look()
            return await body(driver)
        finally:
            await context.close()

    return env.run(go())


def test_autocomplete_suggestions_are_listed_one_by_one_after_typing(env: Env, tmp_path: Path) -> None:
    async def body(d: Driver) -> dict[str, Any]:
        await d.act("input", index=d.index_of("Start typing a language"), text="j")
        state = await d.look()  # the step after the typing
        suggestions = [line for line in d.lines() if line.endswith("</li>")]
        texts = [state.elements[i].description for i in state.elements]
        await d.act("click", index=d.index_of(">Java<"))  # the second of three, by its text
        await d.look()
        return {
            "suggestions": suggestions,
            "descriptions": texts,
            "state": state,
            "value": await d.page.input_value("#lang"),
            "picked": await d.page.text_content("#picked"),
        }

    out = drive(env, tmp_path, "autocomplete.html", body)
    assert [s.split("]", 1)[1] for s in out["suggestions"]] == ["<li>Jade</li>", "<li>Java</li>", "<li>Julia</li>"]
    assert all(f"*{s}" in out["state"].text for s in out["suggestions"])  # new since the step before
    assert not any(d.startswith("<ul") for d in out["descriptions"])  # not one element holding all three
    assert out["value"] == "Java" and out["picked"] == "Picked Java"


def test_a_dropdown_of_divs_with_a_listener_on_each_option(env: Env, tmp_path: Path) -> None:
    async def body(d: Driver) -> dict[str, Any]:
        closed = d.lines()
        await d.act("click", index=d.index_of("Choose a size"))
        await d.look()
        opened = d.lines()
        await d.act("click", index=d.index_of("<div>Medium</div>"))
        return {"closed": closed, "opened": opened, "chosen": await d.page.text_content("#chosen")}

    out = drive(env, tmp_path, "dropdowns.html", body)
    assert [line.split("]", 1)[1] for line in out["closed"]] == [
        "<div>Choose a size</div>",
        "<div>Choose a colour</div>",
    ]
    assert [line.split("]", 1)[1] for line in out["opened"]][1:4] == [
        "<div>Small</div>",
        "<div>Medium</div>",
        "<div>Large</div>",
    ]
    assert out["chosen"] == "Size: Medium"


def test_a_dropdown_of_divs_with_one_delegated_listener(env: Env, tmp_path: Path) -> None:
    async def body(d: Driver) -> dict[str, Any]:
        await d.act("click", index=d.index_of("Choose a colour"))
        await d.look()
        opened = d.lines()
        await d.act("click", index=d.index_of("<div>Navy</div>"))
        return {"opened": opened, "chosen": await d.page.text_content("#chosen")}

    out = drive(env, tmp_path, "dropdowns.html", body)
    items = [line.split("]", 1)[1] for line in out["opened"]]
    assert items[-3:] == ["<div>Crimson</div>", "<div>Olive</div>", "<div>Navy</div>"]
    assert not any("Crimson Olive" in line for line in items)  # the menu itself is not a line
    assert out["chosen"] == "Colour: Navy"


def test_items_of_role_containers_and_script_handlers(env: Env, tmp_path: Path) -> None:
    async def body(d: Driver) -> dict[str, Any]:
        listed = [line.split("]", 1)[1] for line in d.lines()]
        logs = []
        for needle in ("<div>Banana</div>", "<li>Paste</li>", "Property handler", "Publish"):
            await d.act("click", index=d.index_of(needle))
            logs.append(await d.page.text_content("#log"))
        return {"listed": listed, "logs": logs}

    out = drive(env, tmp_path, "roles.html", body)
    assert out["listed"] == [
        "<div aria-label=Fruit role=listbox></div>",
        "<div>Apple</div>",
        "<div>Banana</div>",
        "<div>Cherry</div>",
        "<li>Copy</li>",
        "<li>Paste</li>",
        "<li>Delete</li>",  # the empty divider is no item
        "<span>Property handler</span>",
        "<button type=submit>Save draft</button>",
        "<button type=submit>Publish</button>",  # not their wrapper
        "<span>Preview</span>",
    ]
    assert out["logs"] == ["fruit Banana", "edit Paste", "property", "wrap Publish"]


def test_a_react_dropdown_whose_handlers_are_props(env: Env, tmp_path: Path) -> None:
    async def body(d: Driver) -> dict[str, Any]:
        await d.page.wait_for_selector("#notes p")
        closed = [line.split("]", 1)[1] for line in (await d.look(), d.lines())[1]]
        await d.act("click", index=d.index_of("Choose a carrier"))
        await d.look()
        opened = [line.split("]", 1)[1] for line in d.lines()]
        await d.act("click", index=d.index_of("<div>Courier</div>"))
        return {"closed": closed, "opened": opened, "carrier": await d.page.text_content("#carrier")}

    out = drive(env, tmp_path, "react.html", body)
    assert out["closed"] == ["<div>Choose a carrier</div>"]  # neither React root is listed
    assert out["opened"] == [
        "<div>Choose a carrier</div>",
        "<div>Post</div>",
        "<div>Courier</div>",
        "<div>Pick-up point</div>",
    ]
    assert out["carrier"] == "Carrier: Courier"


def test_typing_waits_only_where_suggestions_may_come(env: Env, tmp_path: Path) -> None:
    async def body(d: Driver) -> list[int]:
        await d.page.evaluate("document.body.insertAdjacentHTML('beforeend', '<input id=plain>')")
        counts = []
        for selector, text in (("#lang", "j"), ("#lang", "zz"), ("#plain", "j")):
            handle = await d.page.query_selector(selector)
            assert handle is not None
            await handle.fill(text)
            counts.append(await wait_for_suggestions(handle))
        return counts

    drawn, nothing, plain = drive(env, tmp_path, "autocomplete.html", body)
    assert drawn > 0  # the menu was drawn while it waited
    assert nothing >= 0 and plain == -1  # a field nothing listens to is not waited on


def test_typing_is_prepared_in_one_look_at_the_field(env: Env, tmp_path: Path) -> None:
    """What `input` learns before typing (worker/browser/actionable.py:prepare_typing), without a
    handle: a field that may suggest is waited on after the typing, a plain one is not, a date
    field is set by value, nothing is focused unless asked, and a field gone since the look is told."""

    async def body(d: Driver) -> dict[str, Any]:
        await d.page.evaluate(
            """document.body.insertAdjacentHTML('beforeend',
              '<input id=plain placeholder=Plain><input id=when type=date>'
              + '<input id=box role=combobox placeholder=Box><input id=gone placeholder=Gone>')"""
        )
        await d.look()
        refs = {n: d.state.elements[d.index_of(f"placeholder={n}")] for n in ("Plain", "Box", "Gone")}  # type: ignore[union-attr]
        refs["Language"] = d.state.elements[d.index_of("Start typing a language")]  # type: ignore[union-attr]
        when = d.state.elements[d.index_of("type=date")]  # type: ignore[union-attr]
        out: dict[str, Any] = {n: await prepare_typing(ref, focus=True) for n, ref in refs.items() if n != "Gone"}
        out["unfocused"] = await prepare_typing(refs["Plain"], focus=False)
        out["date"] = await prepare_typing(when, focus=True)
        out["active"] = await d.page.evaluate("document.activeElement.id")  # the last focused
        await d.page.evaluate("document.getElementById('gone').remove()")
        try:
            await prepare_typing(refs["Gone"], focus=True)
            out["gone"] = "found"
        except ElementGone:
            out["gone"] = "gone"
        out["gone_action"] = (
            await run_action(
                ActionContext(d.session, d.state, {}, d.files),  # type: ignore[arg-type]
                p.parse_action({"input": {"index": refs["Gone"].index, "text": "x"}}),
            )
        ).error
        out["gone_index"] = refs["Gone"].index
        return out

    out = drive(env, tmp_path, "autocomplete.html", body)
    assert out["Language"] == TypingTarget(date=False, focused=True, suggests=True)  # jQuery UI listens to its keys
    assert out["Box"] == TypingTarget(date=False, focused=True, suggests=True)  # ARIA says it suggests
    assert out["Plain"] == TypingTarget(date=False, focused=True, suggests=False)  # typed without a wait
    assert out["unfocused"].focused is False and out["date"].date is True
    assert out["active"] == "lang"  # the unfocused look and the date field's did not move the focus
    assert out["gone"] == "gone"
    assert out["gone_action"] == f"element [{out['gone_index']}] is no longer on the page"


class _LateHandler(http.server.BaseHTTPRequestHandler):
    """Answers after 0.6 s: a navigation that commits well after the click's mouse events."""

    def do_GET(self) -> None:
        time.sleep(0.6)
        body = b"<!doctype html><title>Late</title><h1>Arrived late</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_plain_click_lands_once_and_the_next_look_sees_a_late_navigation(env: Env, tmp_path: Path) -> None:
    """click on a plainly clickable element is the mouse at its centre (worker/browser/click.py),
    no handle and nothing written into the page: its handler runs once, and a navigation it
    starts that commits late is waited for, so the next look reads the new page, not the old one."""
    late = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LateHandler)
    threading.Thread(target=late.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{late.server_address[1]}/late"

    async def body(d: Driver) -> dict[str, Any]:
        await d.page.evaluate(
            """url => document.body.insertAdjacentHTML('afterbegin',
              `<button id=count onclick="this.dataset.n = (+this.dataset.n || 0) + 1">Count</button>`
              + `<a href="${url}">Go late</a>`)""",
            url,
        )
        await d.look()
        await d.act("click", index=d.index_of(">Count<"))
        out: dict[str, Any] = {
            "clicks": await d.page.evaluate("document.getElementById('count').dataset.n"),
            "attributes": await d.page.evaluate("document.getElementById('count').getAttributeNames()"),
        }
        await d.look()
        out["description"] = d.state.elements[d.index_of(">Count<")].description  # type: ignore[union-attr]
        await d.act("click", index=d.index_of("Go late"))
        await d.session.ready()  # as the next step does
        out["after"] = (await d.look()).text
        return out

    try:
        out = drive(env, tmp_path, "autocomplete.html", body)
    finally:
        late.shutdown()
    assert out["clicks"] == "1"  # once
    assert out["attributes"] == ["id", "onclick", "data-n"]  # nothing of ours left on the element
    assert out["description"] == "<button type=submit>Count</button>"
    assert "Arrived late" in out["after"] and "Favourite language" not in out["after"]

"""The plain click (worker/browser/click.py) in a real Chromium, against a server whose
answers are the cases a click's navigation can end in: a form posted, redirected and
answered late; a 204; a download; a navigation a page's script prevents; a popup;
a click that starts no navigation at all. Each asserts what the click reports and what
the next look reads, never how long it took."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_page_state import Env
from worker.agent import protocol as p
from worker.agent.actions import ActionContext, ActionResult, run_action
from worker.browser.actionable import plain_click_point
from worker.browser.click import Clicked, click_at
from worker.browser.page_state import PageState, capture_page_state
from worker.browser.session import BrowserSession

PAGE = """<!doctype html><title>Start</title>
<h1>Start page</h1>
<form method=post action="/post"><input name=q value=x><button>Send late</button></form>
<a href="/nocontent">No content</a>
<a href="/download">Get the file</a>
<a id=kept href="/next">Kept here</a>
<button onclick="window.open('/next')">Open a window</button>
<a href="/next" target=_blank>Open a tab</a>
<button onclick="document.querySelector('h1').textContent = 'Changed in place'">Change</button>
<a href="#below">Jump below</a>
<script>
  navigation.addEventListener('navigate', e => {
    if (e.destination.url.endsWith('/next') && document.activeElement && document.activeElement.id === 'kept') {
      e.preventDefault();
      document.querySelector('h1').textContent = 'Navigation prevented';
    }
  });
</script>
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def _send(self, code: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        html = (("Content-Type", "text/html"),)
        if self.path == "/":
            self._send(200, PAGE.encode(), html)
        elif self.path == "/next":
            self._send(200, b"<!doctype html><title>Next</title><h1>The next page</h1>", html)
        elif self.path == "/nocontent":
            self._send(204)
        elif self.path == "/download":
            self._send(
                200,
                b"file body",
                (("Content-Type", "application/octet-stream"), ("Content-Disposition", "attachment; filename=got.bin")),
            )
        else:
            self._send(404)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(0.6)  # commits well after the click's mouse events
        self._send(303, headers=(("Location", "/next"),))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = Env(tmp_path_factory.mktemp("click-pages"))
    yield e
    e.close()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class Tab:
    """A task-like session on the start page: look, click by line text, as the agent does."""

    def __init__(self, session: BrowserSession, files: Path) -> None:
        self.session, self.files = session, files
        self.state: PageState | None = None

    async def look(self) -> PageState:
        self.state = await capture_page_state(await self.session.ready())
        return self.state

    def index_of(self, needle: str) -> int:
        assert self.state is not None
        found = [i for i, ref in self.state.elements.items() if needle in ref.description]
        assert found, (needle, self.state.text)
        return found[0]

    async def click(self, needle: str) -> Clicked:
        """click_at at the element's plain point, as the click action does."""
        ref = self.state.elements[self.index_of(needle)]  # type: ignore[union-attr]
        point = await plain_click_point(ref)
        assert point is not None, needle
        return await click_at(ref.frame.page, *point)

    async def act(self, needle: str) -> ActionResult:
        assert self.state is not None
        action = p.parse_action({"click": {"index": self.index_of(needle)}})
        result = await run_action(ActionContext(self.session, self.state, {}, self.files), action)
        assert result.error is None, result.error
        return result


def on_start_page(env: Env, site: str, tmp: Path, body: Callable[[Tab], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        context = await env.browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
        try:
            session = BrowserSession(context, tmp / "downloads")
            page = await session.start()
            await page.goto(f"{site}/")
            tab = Tab(session, tmp)
            await tab.look()
            return await body(tab)
        finally:
            await context.close()

    return env.run(go())


def test_a_form_posted_and_redirected_late_is_waited_for_and_the_next_look_reads_where_it_led(
    env: Env, site: str, tmp_path: Path
) -> None:
    async def body(tab: Tab) -> dict[str, Any]:
        clicked = await tab.click("Send late")
        page = await tab.session.page()
        url_on_return = page.url  # Playwright's view of the tab when the click returned
        return {"clicked": clicked, "url": url_on_return, "after": (await tab.look()).text}

    out = on_start_page(env, site, tmp_path, body)
    assert out["clicked"] == Clicked(navigated=True, ended_without_commit=False, tabs_asked=0)
    assert out["url"].endswith("/next")
    assert "The next page" in out["after"] and "Start page" not in out["after"]


def test_a_204_and_a_download_end_without_a_new_document_and_the_page_stays(
    env: Env, site: str, tmp_path: Path
) -> None:
    async def body(tab: Tab) -> dict[str, Any]:
        no_content = await tab.click("No content")
        await tab.look()
        download = await tab.click("Get the file")
        await tab.session.settle()  # as the agent loop does after its actions
        return {
            "no_content": no_content,
            "download": download,
            "after": (await tab.look()).text,
            "downloaded": tab.session.downloaded,
            "url": (await tab.session.page()).url,
            "told": tab.session.events.drain(),
        }

    out = on_start_page(env, site, tmp_path, body)
    assert out["no_content"] == Clicked(navigated=False, ended_without_commit=True, tabs_asked=0)
    assert out["download"] == Clicked(navigated=False, ended_without_commit=True, tabs_asked=0)
    # Saved by the settle after the click: the click waited until the download reached
    # Playwright, though Chromium tells the tab it stopped loading before it tells of the download.
    assert out["downloaded"] == ["got.bin"], out["told"]
    assert (tmp_path / "downloads" / "got.bin").read_bytes() == b"file body"
    assert "Start page" in out["after"] and out["url"].endswith("/")


def test_clicks_that_start_no_navigation_of_the_tab_report_none(env: Env, site: str, tmp_path: Path) -> None:
    """A handler that changes the page in place, a fragment link, and a link whose navigation
    the page's `navigate` listener prevents: no navigation of the document was requested, so
    the click waits for none (a wait would end only at NAVIGATION_WAIT_SECONDS)."""

    async def body(tab: Tab) -> dict[str, Any]:
        page = await tab.session.page()
        out: dict[str, Any] = {"change": await tab.click("Change"), "changed": (await tab.look()).text}
        out["fragment"] = await tab.click("Jump below")
        await tab.look()
        await page.focus("#kept")  # the page's listener prevents the navigation of this link
        out["prevented"] = await tab.click("Kept here")
        out["after"] = (await tab.look()).text
        out["url"] = page.url
        return out

    out = on_start_page(env, site, tmp_path, body)
    nothing = Clicked(navigated=False, ended_without_commit=False, tabs_asked=0)
    assert out["change"] == nothing and "Changed in place" in out["changed"]
    assert out["fragment"] == nothing
    assert out["prevented"] == nothing and "Navigation prevented" in out["after"]
    assert out["url"].endswith("/#below")


def test_a_click_opens_a_popup_with_its_user_gesture_and_the_tab_count_is_told(
    env: Env, site: str, tmp_path: Path
) -> None:
    """window.open from a click handler needs the click's user activation (else Chromium's
    popup blocker drops it); a link with target=_blank opens a tab too. The click tells the
    agent loop how many tabs the page has asked for, so the loop waits for them."""

    async def body(tab: Tab) -> dict[str, Any]:
        before = tab.session.changes
        by_script = await tab.act("Open a window")
        await tab.session.wait_for_new_tab(before)
        return {"by_script": by_script.tabs_asked, "urls": [pg.url for pg in tab.session.open_pages()]}

    out = on_start_page(env, site, tmp_path, body)
    assert out["by_script"] == 1
    assert len(out["urls"]) == 2 and out["urls"][0].endswith("/")


def test_a_link_with_target_blank_opens_a_tab_and_the_tab_stays(env: Env, site: str, tmp_path: Path) -> None:
    async def body(tab: Tab) -> dict[str, Any]:
        before = tab.session.changes
        clicked = await tab.click("Open a tab")
        await tab.session.wait_for_new_tab(before)
        pages = tab.session.open_pages()
        await pages[-1].wait_for_load_state("domcontentloaded")
        return {"clicked": clicked, "urls": [pg.url for pg in pages]}

    out = on_start_page(env, site, tmp_path, body)
    assert out["clicked"] == Clicked(navigated=False, ended_without_commit=False, tabs_asked=1)
    assert out["urls"][0].endswith("/") and out["urls"][1].endswith("/next")

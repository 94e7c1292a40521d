"""A plain click by the mouse at a point of the top frame, and the wait for the
navigation it starts: until the new document commits in the tab (so the next look
reads the page the click led to), or the navigation ends without one (a 204, a
download, an error), and no wait at all when the click starts none.

Why not Playwright's element click: it installs its injected script in its own world
once per document (20-30 ms), resolves the element, scrolls, asks for its quads and
the viewport, and only then sends the mouse events. Its wait after them is what is
kept here, built the same way (its `waitForSignalsCreatedBy`): Chromium tells a
DevTools session `Page.frameRequestedNavigation` while it handles the click that asks
for a navigation (a link, a form's submission, a script setting `location`), so one
round trip on that session after the mouse events (the barrier) has every such
request in hand before its answer. A navigation that a `navigate` or `submit`
listener prevents is never requested; a link with `download`, a new tab, or a
same-document move (a fragment, `pushState`) is no navigation of this tab's document,
and none of these waits.

The session is this module's own CDP session on the tab, made at the tab's first
plain click and kept while the tab lives (Playwright's sessions are not reachable).
The commit is taken from Playwright's own `framenavigated`, so when the click returns,
Playwright's view of the tab (its URL and load states, which the next step's
`BrowserSession.ready` waits on) is already the new document's.

A navigation turned into a download tells the tab it stopped loading before it tells
that a download began (Chromium decides on the download after it has dropped the
navigation; 1-16 ms apart as measured). So a navigation
that ended without a commit is asked for its response: one that is not a 204 or 205
and made no document is a download on its way, and the click waits for it."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from playwright.async_api import CDPSession, Download, Frame, Page, Request
from playwright.async_api import Error as PlaywrightError

log = logging.getLogger("browserq.click")

NAVIGATION_WAIT_SECONDS = 10.0  # as long as Playwright's click waited (the action timeout)
# A download this session saw begin reaches Playwright's `download` event by another session:
# waited for this long, so the agent loop's settle (which saves it) has it in hand. It comes
# within milliseconds on an idle host; the bound only matters on a loaded one.
DOWNLOAD_EVENT_SECONDS = 10.0
# The barrier's question: how many tabs the page has asked to open (session.OPENER_JS), which
# the agent loop wants after a click anyway.
_TABS_ASKED = "typeof window.__bqOpened === 'number' ? window.__bqOpened : 0"


@dataclass(frozen=True)
class Clicked:
    navigated: bool  # the tab's document was replaced (committed) after the click
    ended_without_commit: bool  # a navigation was requested and ended without one (204, download)
    tabs_asked: int | None  # the page's count of tabs asked for, right after the click (None: unknown)


class _Watch:
    """One tab's navigation requests and ends, as its CDP session reports them."""

    def __init__(self, cdp: CDPSession, main_frame_id: str) -> None:
        self.cdp = cdp
        self.main_frame_id = main_frame_id
        self.requested = False  # the main frame asked for a navigation since `arm`
        self.ended = asyncio.Event()  # ...and it stopped loading or turned into a download
        self.download = False  # ...a download
        cdp.on("Page.frameRequestedNavigation", self._on_requested)
        cdp.on("Page.frameStoppedLoading", self._on_ended)
        cdp.on("Page.downloadWillBegin", self._on_download)

    def arm(self) -> None:
        self.requested = False
        self.download = False
        self.ended.clear()

    def _on_requested(self, params: dict[str, Any]) -> None:
        if params.get("frameId") == self.main_frame_id and params.get("disposition") == "currentTab":
            self.requested = True
            self.ended.clear()

    def _on_ended(self, params: dict[str, Any]) -> None:
        if params.get("frameId") == self.main_frame_id and self.requested:
            self.ended.set()

    def _on_download(self, params: dict[str, Any]) -> None:
        if params.get("frameId") == self.main_frame_id and self.requested:
            self.download = True
            self.ended.set()


_watches: weakref.WeakKeyDictionary[Page, _Watch] = weakref.WeakKeyDictionary()


async def watch_navigations(page: Page) -> None:
    """Make the tab's watching session if it has none yet (click_at does; a caller that has
    another round trip to make first can overlap the two)."""
    if page not in _watches:
        cdp = await page.context.new_cdp_session(page)
        # The main frame's id stays the same across its navigations; events come after the enable.
        tree: dict[str, Any] = (await asyncio.gather(cdp.send("Page.getFrameTree"), cdp.send("Page.enable")))[0]
        _watches.setdefault(page, _Watch(cdp, tree["frameTree"]["frame"]["id"]))


async def click_at(page: Page, x: float, y: float) -> Clicked:
    """Press and release the left button at (x, y) of the top frame's viewport, then wait
    for the navigation the click started in this tab, if it started one (see the module's
    docstring). A navigation still not ended after NAVIGATION_WAIT_SECONDS is left to the
    next look."""
    await watch_navigations(page)
    watch = _watches[page]
    committed, downloaded = asyncio.Event(), asyncio.Event()

    def on_navigated(frame: Frame) -> None:
        if frame is page.main_frame:
            committed.set()

    def on_download(_download: Download) -> None:
        downloaded.set()

    navigations: list[Request] = []  # the tab's top-level navigation requests since the click

    def on_request(request: Request) -> None:
        if request.is_navigation_request() and request.frame is page.main_frame:
            navigations.append(request)

    page.on("framenavigated", on_navigated)
    page.on("download", on_download)
    page.on("request", on_request)
    try:
        watch.arm()
        await page.mouse.click(x, y)
        tabs_asked = await _barrier(watch)
        if not watch.requested:
            return Clicked(False, False, tabs_asked)
        # A same-document move (a fragment) is no request; a request ends in a new document
        # or in nothing (then the tab stops loading, or a download begins).
        commit = asyncio.ensure_future(committed.wait())
        ended = asyncio.ensure_future(watch.ended.wait())
        try:
            await asyncio.wait([commit, ended], timeout=NAVIGATION_WAIT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        finally:
            commit.cancel()
            ended.cancel()
        if committed.is_set():
            return Clicked(True, False, 0)  # the new document has asked for no tab yet
        if not watch.ended.is_set():
            log.info("a navigation the click requested had not ended after %s s", NAVIGATION_WAIT_SECONDS)
        elif (watch.download or await _answered_as_download(navigations)) and not downloaded.is_set():
            try:
                await asyncio.wait_for(downloaded.wait(), DOWNLOAD_EVENT_SECONDS)
            except TimeoutError:
                log.info("a download the click began did not reach Playwright in %s s", DOWNLOAD_EVENT_SECONDS)
        return Clicked(False, watch.ended.is_set(), tabs_asked)
    finally:
        page.remove_listener("framenavigated", on_navigated)
        page.remove_listener("download", on_download)
        page.remove_listener("request", on_request)


async def _answered_as_download(navigations: list[Request]) -> bool:
    """Whether the last navigation, which ended without a document, was answered with one
    that Chromium saves instead (any answer but a 204 or 205, which leave the page as it is).
    Playwright's driver settles the response before it tells the request failed."""
    if not navigations:
        return False
    try:
        response = await navigations[-1].response()
    except PlaywrightError:
        return False
    return response is not None and response.status not in (204, 205)


async def _barrier(watch: _Watch) -> int | None:
    """One round trip to the page on the watching session: every navigation request the
    click made is reported before its answer. The answer is the count of tabs the page had
    asked for (None when the document went away meanwhile)."""
    try:
        out = await watch.cdp.send("Runtime.evaluate", {"expression": _TABS_ASKED, "returnByValue": True})
    except PlaywrightError:
        return None
    value = out.get("result", {}).get("value")
    return value if isinstance(value, int) else None

"""One task's view of the browser: its context, its tabs, and what the pages
did on their own (dialogs answered, downloads saved, tabs opened, requests
blocked), told to the model in its next step through `events`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Dialog, Download, Page, Request

from shared.storage.names import file_name_from
from worker.browser.egress import ByteMeter
from worker.browser.guard import NetworkGuard
from worker.browser.listeners import install_listener_probe

log = logging.getLogger("browserq.browser")
READY_TIMEOUT_MS = 5_000  # how long a step waits for a loading page before reading it anyway
DEFAULT_MAX_TABS = 10  # the settings' max_tabs_per_task
POPUP_WAIT_SECONDS = 2.0  # a page said it opened a tab; Playwright announces it this much later at most
DOWNLOAD_POLL_SECONDS = 0.05  # how often a running download's file and the gate's meter are read
DOWNLOAD_SETTLE_SECONDS = 0.2  # once the meter is spent, what it let through has landed by then
MIN_DOWNLOAD_GRANT = 64 * 1024  # less room than this under the cap: the running download is cancelled
# Counts, in each page, the tabs it asked to open (window.open, links and forms with a
# target), so the agent knows at once that a click opened one; Playwright reports the
# new page only some hundred milliseconds later.
# It also spares the browser a page's popup storm: past `__CAP__` tabs asked by one document,
# window.open returns null and target links stay put, so the tabs are never even made (the
# session closes any tab past the task's cap anyway, whoever opened it).
# A window.open without a user gesture that Chromium's popup blocker refused (it returns
# null; worker/browser/chromium.py) is not counted, and the session is told once a document.
OPENER_JS = """(() => {
  if (window.__bqOpened !== undefined) return;
  let opened = 0;
  const told = new Set();
  const tell = (why) => {
    if (!told.has(why) && typeof window.__bqTabRefused === 'function') window.__bqTabRefused(why).catch(() => {});
    told.add(why);
  };
  const open = window.open;
  window.open = function (...args) {
    if (opened >= __CAP__) { tell('cap'); return null; }
    const gesture = !navigator.userActivation || navigator.userActivation.isActive;
    const opener = !/noopener|noreferrer/i.test(String(args[2] || ''));
    const win = open.apply(this, args);
    if (win === null && !gesture && opener) tell('blocked'); else opened++;
    return win;
  };
  document.addEventListener('click', (e) => {
    const el = e.target && e.target.closest && e.target.closest('a[target], area[target], form[target]');
    if (el && el.target && !['_self', '_parent', '_top'].includes(el.target)) {
      if (opened >= __CAP__) { tell('cap'); e.preventDefault(); } else opened++;
    }
  }, true);
  Object.defineProperty(window, '__bqOpened', { get: () => opened });
})();"""


def partial_download_path(download: Download) -> Path | None:
    """Where Chromium writes a running download (its artifact's path, `.crdownload` added while
    it runs). Playwright keeps it on the download's artifact but has no public name for it."""
    try:
        return Path(download._impl_obj._artifact._initializer["absolutePath"])
    except (AttributeError, KeyError, TypeError):
        return None


def _partial_size(path: Path) -> int:
    sizes = []
    for candidate in (path, path.with_name(path.name + ".crdownload")):
        try:
            sizes.append(candidate.stat().st_size)
        except OSError:
            pass
    return max(sizes, default=0)


@dataclass
class TabInfo:
    tab_id: int
    url: str
    title: str


@dataclass
class PageEvents:
    """What happened since the model last looked; reported in the next step."""

    notes: list[str] = field(default_factory=list)
    counted: dict[str, int] = field(default_factory=dict)  # a note that may repeat: told once, with its count

    def add(self, note: str) -> None:
        """Pass this (not `notes.append`, which `drain` leaves behind) as a callback."""
        self.notes.append(note)

    def count(self, note: str) -> None:
        """A note told once per step however often it happens (a page's popup storm)."""
        self.counted[note] = self.counted.get(note, 0) + 1

    def drain(self) -> list[str]:
        counted = [note if n == 1 else f"{note} ({n} times)" for note, n in self.counted.items()]
        notes, self.notes, self.counted = [*self.notes, *counted], [], {}
        return notes


class BrowserSession:
    def __init__(
        self,
        context: BrowserContext,
        downloads_dir: Path,
        max_download_bytes: int | None = None,
        max_tabs: int = DEFAULT_MAX_TABS,
    ) -> None:
        self.context = context
        self.max_tabs = max_tabs  # a tab opened past it is closed at once, and the model told
        self.downloads_dir = downloads_dir
        self.download_cap = max_download_bytes  # what the task's downloads may add up to; None: no cap
        self.download_room = max_download_bytes  # what they may still take
        self.events = PageEvents()
        self.downloaded: list[str] = []
        self._tabs: dict[int, Page] = {}
        self._next_tab = 0
        self.current: Page | None = None
        self.guard: NetworkGuard | None = None  # set by the worker; actions consult it before navigating
        # Bumped when any tab starts a top-level navigation or a tab opens: the
        # agent loop skips the rest of an action list when it moved.
        self.changes = 0
        self._changed = asyncio.Event()
        self._opening = 0  # > 0 while open_tab waits for its page
        self._reserved: set[str] = set()
        self._pending: set[asyncio.Task[None]] = set()
        self._pristine: set[Page] = set()  # tabs open_tab made that nothing has loaded or written into
        # Tabs whose document, the latest committed, was seen parsed (its DOMContentLoaded came after
        # its commit): ready() need not ask Playwright, whose wait sends the driver three messages.
        self._parsed: set[Page] = set()
        self.meter: ByteMeter | None = None  # the gate's, set by the worker: downloads are metered there
        self._downloading: dict[Path, Download] = {}  # the running downloads, by their partial file
        self._stopped: dict[Path, int] = {}  # downloads cancelled at the cap: their size then
        self._metering: asyncio.Task[None] | None = None
        context.on("page", self._on_page)

    async def start(self) -> Page:
        if self.meter is not None and self.download_room is not None:
            self._metering = asyncio.create_task(self._meter_downloads(self.meter))
        await self.context.expose_binding("__bqTabRefused", lambda _source, why="cap": self._tab_refused(why))
        await self.context.add_init_script(OPENER_JS.replace("__CAP__", str(max(self.max_tabs - 1, 0))))
        await install_listener_probe(self.context)
        return await self.open_tab()

    async def open_tab(self) -> Page:
        """A new blank tab, made current. Not reported as an event: the agent asked for it."""
        self._opening += 1
        try:
            page = await self.context.new_page()
        finally:
            self._opening -= 1
        self._adopt(page)
        self._watch_pristine(page)
        self.current = page
        return page

    def _watch_pristine(self, page: Page) -> None:
        """Any request, navigation or document load (set_content's too) ends a tab's blankness."""
        self._pristine.add(page)

        def touched(*_: Any) -> None:
            self._pristine.discard(page)

        for event in ("request", "framenavigated", "domcontentloaded", "load", "close"):
            page.on(event, touched)

    def pristine(self, page: Page) -> bool:
        """True for a tab this session opened (about:blank) that nothing has loaded or written
        into since: its state is known without reading it (page_state.blank_state)."""
        return page in self._pristine and page.url == "about:blank"

    # -- tabs ---------------------------------------------------------------

    def _adopt(self, page: Page) -> int:
        for tab_id, known in self._tabs.items():
            if known is page:
                return tab_id
        tab_id = self._next_tab
        self._next_tab += 1
        self._tabs[tab_id] = page
        page.on("dialog", self._on_dialog)
        page.on("download", self._on_download)
        page.on("request", self._on_request)
        page.on("close", lambda p: self._forget(p))
        page.on("domcontentloaded", lambda p: self._parsed.add(p))
        page.on("framenavigated", lambda frame: self._parsed.discard(page) if frame is page.main_frame else None)
        return tab_id

    @property
    def tabs_full(self) -> bool:
        return len(self._tabs) >= self.max_tabs

    def _on_page(self, page: Page) -> None:
        if any(p is page for p in self._tabs.values()) or self._opening:
            return  # ours: open_tab adopts it
        if self.tabs_full:
            self._spawn(page.close())
            self._tab_refused()
            return
        tab_id = self._adopt(page)
        self.current = page
        self._bump()
        self.events.add(f"A new tab opened (tab_id {tab_id}) and is now the current tab.")

    def _tab_refused(self, why: str = "cap") -> None:
        if why == "blocked":
            self.events.count(
                "A page tried to open a popup window without a click; the browser blocked it, as a person's "
                "browser would. If you need that window, click the link or button that opens it."
            )
            return
        self.events.count(
            f"A page tried to open a new tab past this task's limit of {self.max_tabs} open tabs; "
            "it was not opened (or closed at once). Close tabs you no longer need before opening others."
        )

    def _forget(self, page: Page) -> None:
        self._parsed.discard(page)
        for tab_id, known in list(self._tabs.items()):
            if known is page:
                del self._tabs[tab_id]
        if self.current is page:
            self.current = next(iter(reversed(self._tabs.values())), None)

    def open_pages(self) -> list[Page]:
        return list(self._tabs.values())

    def tab_id_of(self, page: Page) -> int | None:
        return next((tid for tid, p in self._tabs.items() if p is page), None)

    def tab(self, tab_id: int) -> Page:
        page = self._tabs.get(tab_id)
        if page is None:
            raise ValueError(f"there is no tab {tab_id}; open tabs: {sorted(self._tabs)}")
        return page

    async def tabs(self, known: dict[int, str] | None = None) -> list[TabInfo]:
        """The open tabs; `known` titles by tab id (the current page's, just captured)
        spare a round trip to the browser each."""
        infos = []
        for tab_id, page in list(self._tabs.items()):
            title = (known or {}).get(tab_id)
            if title is None:
                try:
                    title = await page.title()
                except Exception:
                    title = ""
            infos.append(TabInfo(tab_id, page.url, title))
        return infos

    async def page(self) -> Page:
        """The current tab, opening a blank one if every tab was closed."""
        if self.current is None or self.current.is_closed():
            self.current = None
            return await self.open_tab()
        return self.current

    async def ready(self) -> Page:
        """The current tab once its document is parsed (or after READY_TIMEOUT_MS:
        a page that never finishes loading is still read as it is)."""
        page = await self.page()
        if page in self._parsed:
            return page
        try:
            await page.wait_for_load_state("domcontentloaded", timeout=READY_TIMEOUT_MS)
        except Exception as exc:
            log.debug("page not ready in time: %s", exc)
        return page

    # -- things pages do on their own --------------------------------------

    def _on_request(self, request: Request) -> None:
        if request.is_navigation_request() and request.frame.parent_frame is None:
            self._bump()

    def _bump(self) -> None:
        self.changes += 1
        self._changed.set()

    async def tabs_requested(self) -> int | None:
        """How many tabs the current page has asked to open (OPENER_JS); None when it cannot tell."""
        try:
            return int(await (await self.page()).evaluate("window.__bqOpened || 0"))
        except Exception:  # navigating, or closed
            return None

    async def wait_for_new_tab(self, since: int) -> None:
        """Wait until the tab a page asked for is adopted (the `changes` counter moves)."""
        if self.changes == since:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), POPUP_WAIT_SECONDS)
            except TimeoutError:
                log.debug("a page asked for a tab that did not open")

    def _on_dialog(self, dialog: Dialog) -> None:
        """Answer every native dialog at once so it never hangs the page: alerts and
        confirms are accepted, prompts get their default text."""
        kind, message = dialog.type, dialog.message
        answer = f" with {dialog.default_value!r}" if kind == "prompt" else ""
        self.events.add(f"The page showed a {kind} dialog: {message!r}; it was accepted{answer}.")
        self._spawn(dialog.accept(dialog.default_value) if kind == "prompt" else dialog.accept())

    def _on_download(self, download: Download) -> None:
        self._spawn(self._save_download(download))

    def _free_name(self, suggested: str) -> str:
        """A name no other output file has (downloads and written files share a namespace),
        made by the rule storage checks, so what the task lists is what is stored."""

        def taken(n: str) -> bool:
            return (self.downloads_dir / n).exists() or (self.downloads_dir.parent / n).exists() or n in self._reserved

        name = file_name_from(suggested, taken)
        self._reserved.add(name)  # two downloads of one name at once get two names
        return name

    async def _save_download(self, download: Download) -> None:
        name = self._free_name(download.suggested_filename)
        target = self.downloads_dir / name
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        partial = partial_download_path(download)
        if partial is not None:
            self._downloading[partial] = download
        try:
            # The stat is one syscall on a local file.
            size = Path(await download.path()).stat().st_size  # noqa: ASYNC240
            if self.download_room is not None and size > self.download_room:
                await download.delete()
                self.events.add(
                    f"A download of {name!r} ({size / 1e6:.1f} MB) was refused and deleted: this task's downloads "
                    f"may add up to {(self.download_cap or 0) / 1e6:g} MB and "
                    f"{self.download_room / 1e6:.1f} MB were left. "
                    "Do not download it again; find the information another way."
                )
                return
            await download.save_as(target)
            await download.delete()  # the browser's own copy: the task keeps one
        except Exception as exc:
            stopped_at = self._stopped.pop(partial, None) if partial is not None else None
            if stopped_at is None:
                self.events.add(f"A download of {name!r} failed: {exc}")
                return
            log.info(
                "download %r stopped at %d bytes, within the task's room of %s", name, stopped_at, self.download_room
            )
            self.events.add(
                f"A download of {name!r} was stopped at {stopped_at / 1e6:.1f} MB and deleted: this task's downloads "
                f"may add up to {(self.download_cap or 0) / 1e6:g} MB. "
                "Do not download it again; find the information another way."
            )
            return
        finally:
            if partial is not None:
                self._downloading.pop(partial, None)
        if self.download_room is not None:
            self.download_room -= size
        self.downloaded.append(name)
        self.events.add(f"The page downloaded a file, saved as {name!r}.")

    async def _meter_downloads(self, meter: ByteMeter) -> None:
        """For the session's life, under a download cap: the gate lets in half the room left
        (all of it counts, whatever it is for); once that is spent and has landed, the running
        downloads' files are measured and half of what is left is granted again, or, with
        less than MIN_DOWNLOAD_GRANT left, they are cancelled (Chromium deletes their partial
        files). So their files never pass the cap, whenever the browser tells of them. A blob:
        or data: download, which never crosses the gate, is measured every poll instead."""
        meter.grant(self._grant())
        while True:
            try:
                # Idle sessions wake once a second only (a blob: download is polled from its start).
                await asyncio.wait_for(meter.spent.wait(), DOWNLOAD_POLL_SECONDS if self._downloading else 1.0)
            except TimeoutError:
                if self._downloading and self._room_left() < 0:
                    await self._cancel_downloads()
                continue
            await asyncio.sleep(DOWNLOAD_SETTLE_SECONDS)  # what passed lands in the files
            if self._downloading and self._room_left() < MIN_DOWNLOAD_GRANT:
                await self._cancel_downloads()
            meter.grant(self._grant())

    def _grant(self) -> int:
        left = self._room_left()
        return left // 2 if self._downloading else max(left // 2, MIN_DOWNLOAD_GRANT)

    def _room_left(self) -> int:
        return (self.download_room or 0) - sum(_partial_size(p) for p in self._downloading)

    async def _cancel_downloads(self) -> None:
        for partial, download in list(self._downloading.items()):
            self._stopped[partial] = _partial_size(partial)
            try:
                await download.cancel()
            except Exception as exc:
                log.warning("cancelling a download past the cap: %s", exc)
            self._downloading.pop(partial, None)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settle(self) -> None:
        """Let pending dialog answers and downloads finish."""
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=10)

    async def close(self) -> None:
        if self._metering is not None:
            self._metering.cancel()
            if self.meter is not None:
                self.meter.release()
        try:
            await self.settle()
            await self.context.close()
        except Exception as exc:
            log.debug("closing context: %s", exc)

"""One task's view of the browser: its context, its tabs, and what the pages
did on their own (dialogs answered, downloads saved, tabs opened)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import BrowserContext, Dialog, Download, Page

log = logging.getLogger("browserq.browser")


@dataclass
class TabInfo:
    tab_id: int
    url: str
    title: str


@dataclass
class PageEvents:
    """What happened since the model last looked; reported in the next step."""

    notes: list[str] = field(default_factory=list)

    def drain(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes


class BrowserSession:
    def __init__(self, context: BrowserContext, downloads_dir: Path) -> None:
        self.context = context
        self.downloads_dir = downloads_dir
        self.events = PageEvents()
        self.downloaded: list[str] = []
        self._tabs: dict[int, Page] = {}
        self._next_tab = 0
        self.current: Page | None = None
        self._pending: set[asyncio.Task] = set()
        context.on("page", self._on_page)

    async def start(self) -> Page:
        page = await self.context.new_page()
        self._adopt(page)
        self.current = page
        return page

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
        page.on("close", lambda p: self._forget(p))
        return tab_id

    def _on_page(self, page: Page) -> None:
        if any(p is page for p in self._tabs.values()):
            return
        tab_id = self._adopt(page)
        self.current = page
        self.events.notes.append(f"A new tab opened (tab_id {tab_id}) and is now the current tab.")

    def _forget(self, page: Page) -> None:
        for tab_id, known in list(self._tabs.items()):
            if known is page:
                del self._tabs[tab_id]
        if self.current is page:
            self.current = next(iter(reversed(self._tabs.values())), None)

    def tab_id_of(self, page: Page) -> int | None:
        return next((tid for tid, p in self._tabs.items() if p is page), None)

    def tab(self, tab_id: int) -> Page:
        page = self._tabs.get(tab_id)
        if page is None:
            raise ValueError(f"there is no tab {tab_id}; open tabs: {sorted(self._tabs)}")
        return page

    async def tabs(self) -> list[TabInfo]:
        infos = []
        for tab_id, page in self._tabs.items():
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
            page = await self.context.new_page()
            self._adopt(page)
            self.current = page
        return self.current

    # -- things pages do on their own --------------------------------------

    def _on_dialog(self, dialog: Dialog) -> None:
        """Answer every native dialog at once so it never hangs the page."""
        kind, message = dialog.type, dialog.message
        self.events.notes.append(f"The page showed a {kind} dialog: {message!r}; it was accepted.")
        self._spawn(dialog.accept() if kind != "beforeunload" else dialog.accept())

    def _on_download(self, download: Download) -> None:
        self._spawn(self._save_download(download))

    async def _save_download(self, download: Download) -> None:
        name = Path(download.suggested_filename).name or "download"
        target = self.downloads_dir / name
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        try:
            await download.save_as(target)
        except Exception as exc:
            self.events.notes.append(f"A download of {name!r} failed: {exc}")
            return
        self.downloaded.append(name)
        self.events.notes.append(f"The page downloaded a file, saved as {name!r}.")

    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settle(self) -> None:
        """Let pending dialog answers and downloads finish."""
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=10)

    async def close(self) -> None:
        try:
            await self.settle()
            await self.context.close()
        except Exception as exc:
            log.debug("closing context: %s", exc)

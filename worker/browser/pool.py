"""One warm Chromium per worker process, of the process's kind (shared/browser_kinds.py);
a fresh context per task. The headful kind's Chromium runs on a virtual display the
pool starts before it and stops after it. While a Chromium runs, its busy renderers are
slowed (worker/browser/busy_renderers.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from shared import metrics
from shared.settings import Settings
from worker.browser.busy_renderers import BusyRenderers
from worker.browser.chromium import launch_chromium
from worker.browser.disguise import context_options, person_user_agent
from worker.browser.virtual_display import VirtualDisplay

log = logging.getLogger("browserq.browser")

CLOSE_TIMEOUT = 15.0


class BrowserPool:
    """Holds this process's Playwright and Chromium. Lazily started in the pool
    child (never before fork) and relaunched when the browser died."""

    def __init__(self, settings: Settings, kind: str | None = None) -> None:
        self.settings = settings
        self.kind = kind or settings.browser_kind
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._display: VirtualDisplay | None = None
        self._disguise: dict[str, Any] = {}  # what every context of a disguised kind adds
        self._lock = asyncio.Lock()
        self._busy_renderers = BusyRenderers()
        self.launches = 0

    async def browser(self) -> Browser:
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                if self._browser is not None:
                    log.warning("Chromium is gone; relaunching it")
                metrics.browser_launched(restart=self._browser is not None)
                self._browser = await self._launch(self._playwright)
                self._busy_renderers.start()
                self.launches += 1
            return self._browser

    async def _launch(self, playwright: Playwright) -> Browser:
        display = None
        if self.kind == "headful":
            if self._display is not None and not self._display.running:  # Xvfb died: its Chromium with it
                log.warning("the virtual display %s is gone; starting another", self._display.name)
                self._display = None
            if self._display is None:
                self._display = VirtualDisplay(self.settings.virtual_display_screen)
                await self._display.start()
            display = self._display.name
        browser = await launch_chromium(playwright, self.settings, self.kind, display)
        if self.kind != "lean":
            self._disguise = context_options(await person_user_agent(browser))
        return browser

    async def new_context(self, **options: Any) -> BrowserContext:
        """A fresh context; `options` are Playwright's `new_context` keywords
        (viewport, proxy, storage_state, ...). Downloads are always accepted."""
        browser = await self.browser()
        return await browser.new_context(**{"accept_downloads": True, **self._disguise, **options})

    async def discard(self) -> None:
        """Close this Chromium (or one that stopped answering); the next task launches a new one."""
        async with self._lock:
            browser, self._browser = self._browser, None
        if browser is not None:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await browser.close()
            except Exception as exc:
                log.error("closing Chromium: %s", exc or type(exc).__name__)

    async def close(self) -> None:
        await self.discard()
        await asyncio.to_thread(self._busy_renderers.stop)
        async with self._lock:
            if self._playwright is not None:
                try:
                    await self._playwright.stop()
                except Exception:
                    pass
                self._playwright = None
            if self._display is not None:
                await self._display.stop()
                self._display = None

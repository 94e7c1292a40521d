"""One warm Chromium per worker process; a fresh context per task."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from shared import metrics
from shared.settings import Settings
from worker.browser.chromium import launch_chromium

log = logging.getLogger("browserq.browser")

CLOSE_TIMEOUT = 15.0


class BrowserPool:
    """Holds this process's Playwright and Chromium. Lazily started in the pool
    child (never before fork) and relaunched when the browser died."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._lock = asyncio.Lock()
        self.launches = 0

    async def browser(self) -> Browser:
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                if self._browser is not None:
                    log.warning("Chromium is gone; relaunching it")
                metrics.browser_launched(restart=self._browser is not None)
                self._browser = await launch_chromium(self._playwright, self.settings)
                self.launches += 1
            return self._browser

    async def new_context(self, **options: Any) -> BrowserContext:
        """A fresh context; `options` are Playwright's `new_context` keywords
        (viewport, proxy, storage_state, ...). Downloads are always accepted."""
        browser = await self.browser()
        return await browser.new_context(**{"accept_downloads": True, **options})

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
        async with self._lock:
            if self._playwright is not None:
                try:
                    await self._playwright.stop()
                except Exception:
                    pass
                self._playwright = None

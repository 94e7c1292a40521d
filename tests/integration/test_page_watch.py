"""The page watch against a real Chromium: a page that keeps its main thread busy
(but still answers DevTools) is named to the model, and after busy_seconds more the
page is closed and the task's reason set. The watch changes no process's priority
(that is worker/browser/busy_renderers.py's, tested on its own): no renderer of
either context is reniced by it."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import psutil  # type: ignore[import-untyped]
from playwright.async_api import async_playwright

from tests.support.stack import CHROMIUM
from worker.browser.page_watch import PageLimits, PageWatch
from worker.browser.session import BrowserSession

BUSY = "<script>setInterval(() => { const t = performance.now(); while (performance.now() - t < 60) {} }, 0)</script>"


async def _watch_a_busy_page() -> tuple[str | None, list[str], list[int]]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            quiet = await (await browser.new_context()).new_page()  # another task's renderer, left alone
            await quiet.set_content("<p>quiet</p>")
            session = BrowserSession(await browser.new_context(), Path(tempfile.mkdtemp()) / "downloads")
            page = await session.start()
            await page.set_content(BUSY)
            async with PageWatch(session, PageLimits(memory_bytes=0, busy_seconds=3.0, interval=0.5)) as watch:
                for _ in range(60):
                    await asyncio.sleep(0.5)
                    if watch.ended:
                        break
            return watch.ended, session.events.drain(), _renderer_nices()
        finally:
            await browser.close()


def _renderer_nices() -> list[int]:
    """The priority of each live renderer of this process's Chromiums (a child gone or a zombie
    left by an earlier test in the same run is skipped, as the watch itself skips it)."""
    nices = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "--type=renderer" in proc.cmdline():
                nices.append(proc.nice())
        except psutil.Error:
            continue
    return nices


def test_a_busy_page_is_named_then_closed_and_the_task_told_why() -> None:
    ended, events, nices = asyncio.run(_watch_a_busy_page())
    assert ended == "a page kept the processor busy for over 3 s", (ended, events)
    assert any("keeps the processor busy. If it stays busy for 3 s" in e for e in events), events
    assert any("was closed" in e for e in events), events
    # No renderer reniced to the lowest priority by the watch (Chromium itself gives a
    # renderer of a hidden page nice 5, which is left as it is).
    assert nices and 19 not in nices, nices

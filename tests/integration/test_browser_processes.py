"""What a task's context holds: in Debian's Chromium (the stealth kind), each context is a
browser window, and a window preloaded its omnibox's popup, a WebUI page in a renderer of
its own, for every task (worker/browser/chromium.py). The task's pages are its only pages."""

from __future__ import annotations

import asyncio

from shared.settings import Settings
from tests.support.site import SiteServer
from worker.browser.pool import BrowserPool


async def _targets(url: str) -> list[str]:
    pool = BrowserPool(Settings(), "stealth")
    try:
        cdp = await (await pool.browser()).new_browser_cdp_session()
        for _ in range(3):
            context = await pool.new_context(viewport={"width": 1280, "height": 960})
            page = await context.new_page()
            await page.goto(url)
        await asyncio.sleep(0.5)  # what a window preloads has started by now
        return [t["url"] for t in (await cdp.send("Target.getTargets"))["targetInfos"]]
    finally:
        await pool.close()


def test_a_stealth_context_holds_its_page_and_no_browser_ui_page() -> None:
    with SiteServer() as site:
        url = site.add_page("plain", "<p>hello</p>")
        targets = asyncio.run(_targets(url))
    assert not [t for t in targets if t.startswith("chrome://")], targets
    assert sorted(targets) == [url] * 3

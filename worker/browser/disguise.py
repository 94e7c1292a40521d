"""What a context of the stealth and headful kinds adds so a page reads a person's
browser (the launch flags are in worker/browser/chromium.py):

- the user agent of this very Chromium without "HeadlessChrome": Playwright's
  `user_agent` sets the header and navigator.userAgent alike and leaves the client
  hints (navigator.userAgentData, Sec-CH-UA), which new headless already reports
  without a Headless brand and with the same major version, untouched;
- a screen as large as the window (headless otherwise reports an 800x600 screen
  under a larger window).

Means chosen over the `patchright` fork of Playwright: flags and context options keep
Playwright (the project's runtime dependency, its API and its fixes) and were enough
for BotD and every signal of tests/fixtures/detection/checks.html on Chromium 156; see
docs/operations.md, "Browser kinds", for what is and is not hidden."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser

from worker.browser.chromium import WINDOW


async def person_user_agent(browser: Browser) -> str:
    """This browser's own user agent, as its headful self sends it."""
    session = await browser.new_browser_cdp_session()
    try:
        version = await session.send("Browser.getVersion")
    finally:
        await session.detach()
    return str(version["userAgent"]).replace("HeadlessChrome/", "Chrome/")


def context_options(user_agent: str) -> dict[str, Any]:
    return {"user_agent": user_agent, "screen": {"width": WINDOW[0], "height": WINDOW[1]}}

"""The command line Chromium really gets (read from its process) and what it changes:
one `--disable-features` holding Playwright's list and ours (Chromium reads only the
last one); the popup blocker on (a popup without a gesture blocked, the session told, a
click's popup opened); and no autofill query leaving through the egress gate while the
agent types into a form."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest
from playwright.async_api import Browser, async_playwright

from shared.netguard import AllowList
from shared.settings import Settings
from tests.support.site import SiteServer
from tests.support.stack import CHROMIUM
from worker.browser.chromium import DISABLED_FEATURES, PLAYWRIGHT_DISABLED_FEATURES, launch_chromium
from worker.browser.egress import Egress, Rules
from worker.browser.session import BrowserSession

AUTOFILL_HOST = "content-autofill.googleapis.com:443"
FORM = """<title>Form</title><form action="/p/args-done" method="post">
<input name="name" autocomplete="name"><input name="email" type="email" autocomplete="email">
<input name="street" autocomplete="street-address"><input name="city" autocomplete="address-level2">
<input name="zip" autocomplete="postal-code"><input name="user" autocomplete="username">
<input name="pw" type="password" autocomplete="current-password"><button>Send</button></form>"""

# Two popups as the page loads (no gesture), one from a button.
POPUPS = """<title>Popups</title><script>
window.onLoadOpened = [window.open('/p/args-done?1'), window.open('/p/args-done?2')].filter(Boolean).length;
</script><button onclick="window.open('/p/args-done?click')">Open</button>"""


@pytest.fixture(scope="module")
def site() -> Iterator[SiteServer]:
    with SiteServer() as server:
        server.add_page("args-form", FORM)
        server.add_page("args-done", "<title>Done</title><p>Sent.</p>")
        server.add_page("args-popups", POPUPS)
        yield server


def _browser_arguments() -> dict[int, list[str]]:
    """The command line of each Chromium browser process (not its children) below this process,
    by pid (a stack an earlier test of the run left up has browsers below it too)."""
    found = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            arguments = proc.cmdline()
        except psutil.Error:
            continue
        if any(a.startswith("--remote-debugging-pipe") for a in arguments):
            found[proc.pid] = arguments
    return found


def _launched(before: dict[int, list[str]]) -> list[str]:
    """The command line of the one browser started since `before` was read."""
    (arguments,) = [a for pid, a in _browser_arguments().items() if pid not in before]
    return arguments


def _feature_switches(arguments: list[str]) -> list[str]:
    return [a.split("=", 1)[1] for a in arguments if a.startswith("--disable-features=")]


async def _command_lines() -> tuple[list[str], list[str]]:
    async with async_playwright() as pw:
        before = _browser_arguments()
        plain = await pw.chromium.launch(executable_path=CHROMIUM)
        plain_args = _launched(before)
        await plain.close()
        ours = await launch_chromium(pw, Settings(chromium_path=CHROMIUM))
        our_args = _launched(before)
        await ours.close()
        return plain_args, our_args


def test_chromium_gets_one_feature_list_with_playwrights_and_ours_and_its_popup_blocker() -> None:
    plain, ours = asyncio.run(_command_lines())
    # Playwright's default list is the one chromium.py merges ours into (when Playwright
    # changes it, update PLAYWRIGHT_DISABLED_FEATURES).
    assert _feature_switches(plain) == [PLAYWRIGHT_DISABLED_FEATURES], plain
    (merged,) = _feature_switches(ours)
    assert set(merged.split(",")) == {*PLAYWRIGHT_DISABLED_FEATURES.split(","), *DISABLED_FEATURES}, merged
    assert "--disable-popup-blocking" in plain and "--disable-popup-blocking" not in ours


async def _autofill_queries(site: SiteServer) -> tuple[set[str], set[str]]:
    """The same form in Playwright's default Chromium (which sends the autofill query: the
    control that shows this test can fail) and in ours, side by side; ours is read once the
    control's query was refused, after ours sent the form too."""
    async with async_playwright() as pw:
        plain = await pw.chromium.launch(executable_path=CHROMIUM)
        ours = await launch_chromium(pw, Settings(chromium_path=CHROMIUM))
        try:
            control_gate = await Egress().open(Rules(None, AllowList.parse([f"127.0.0.1:{site.port}"])))
            our_gate = await Egress().open(Rules(None, AllowList.parse([f"127.0.0.1:{site.port}"])))
            try:
                await asyncio.gather(_fill(plain, control_gate.proxy, site), _fill(ours, our_gate.proxy, site))
                for _ in range(200):  # the control's query follows the typing (at most 20 s)
                    if AUTOFILL_HOST in control_gate.refused:
                        break
                    await asyncio.sleep(0.1)
                return set(control_gate.refused), set(our_gate.refused)
            finally:
                await control_gate.close()
                await our_gate.close()
        finally:
            await plain.close()
            await ours.close()


async def _fill(browser: Browser, proxy: dict[str, str], site: SiteServer) -> None:
    context = await browser.new_context(proxy=proxy)
    page = await context.new_page()
    await page.goto(f"{site.url}/p/args-form")
    values = {"name": "Ann Lee", "email": "ann@example.test", "street": "1 Main St", "city": "Springfield"}
    values |= {"zip": "12345", "user": "ann", "pw": "hunter2"}
    for name, value in values.items():
        await page.click(f"[name={name}]")
        await page.keyboard.type(value)
    await page.click("button")
    await page.wait_for_url("**/args-done")


def test_typing_into_a_form_sends_no_autofill_query_through_the_gate(site: SiteServer) -> None:
    control, ours = asyncio.run(_autofill_queries(site))
    assert AUTOFILL_HOST in control, control  # Playwright's default Chromium does send it
    assert not any("autofill" in target or "google" in target for target in ours), ours


async def _popups(site: SiteServer) -> tuple[int, list[str], int]:
    async with async_playwright() as pw:
        browser = await launch_chromium(pw, Settings(chromium_path=CHROMIUM))
        try:
            session = BrowserSession(await browser.new_context(), Path(tempfile.mkdtemp()) / "downloads")
            page = await session.start()
            await page.goto(f"{site.url}/p/args-popups")
            opened_on_load = await page.evaluate("window.onLoadOpened")
            since = session.changes
            async with page.context.expect_page():
                await page.click("button")  # a gesture: its popup opens
            await session.wait_for_new_tab(since)
            return opened_on_load, session.events.drain(), len(session.open_pages())
        finally:
            await browser.close()


def test_a_popup_without_a_gesture_is_blocked_and_a_clicks_opens(site: SiteServer) -> None:
    opened_on_load, events, tabs = asyncio.run(_popups(site))
    assert opened_on_load == 0, events
    assert any("tried to open a popup window without a click; the browser blocked it" in e for e in events), events
    assert any("A new tab opened (tab_id 1)" in e for e in events) and tabs == 2, (events, tabs)

"""The fast path of click and input (worker/browser/actionable.py) in a real
Chromium: it is taken only for an element that plainly can take the action,
and typing through it replaces the text with trusted input events, as `fill`
does. Everything else must fall back to Playwright's checked path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, async_playwright

from shared.settings import Settings
from worker.browser.actionable import focused_for_typing, plainly_clickable
from worker.browser.chromium import launch_chromium

PAGE = """<html><body style="margin:0">
<input id=plain value="old text"><input id=number type=number value=5><textarea id=area>old</textarea>
<div id=editable contenteditable=true>old words</div>
<input id=date type=date><input id=readonly readonly value=x><input id=disabled disabled>
<input id=check type=checkbox><button id=ok>OK</button><button id=off disabled>Off</button>
<div style="position:relative"><button id=covered>Covered</button>
  <div style="position:absolute;left:0;top:0;width:300px;height:40px;background:white"></div></div>
<button id=invisible style="visibility:hidden">Hidden</button>
<div id=host></div>
<div style="height:3000px"></div><button id=below>Below the fold</button>
<script>
  window.events = [];
  for (const id of ['plain', 'number', 'area', 'editable'])
    document.getElementById(id).addEventListener('input', e => events.push([id, e.isTrusted]));
  const root = document.getElementById('host').attachShadow({mode: 'open'});
  root.innerHTML = '<button id=inner>In shadow</button>';
</script></body></html>"""


@pytest.fixture(scope="module")
def page() -> Iterator[tuple[asyncio.AbstractEventLoop, Page]]:
    loop = asyncio.new_event_loop()
    pw = loop.run_until_complete(async_playwright().start())
    browser = loop.run_until_complete(launch_chromium(pw, Settings()))  # as the worker launches it
    tab = loop.run_until_complete(browser.new_page(viewport={"width": 800, "height": 600}))
    loop.run_until_complete(tab.set_content(PAGE))
    yield loop, tab
    loop.run_until_complete(browser.close())
    loop.run_until_complete(pw.stop())
    loop.close()


def check(page: tuple[asyncio.AbstractEventLoop, Page], selector: str, typing: bool) -> bool:
    loop, tab = page

    async def go() -> bool:
        handle = await tab.evaluate_handle(
            "s => document.querySelector(s) || document.getElementById('host').shadowRoot.querySelector(s)", selector
        )
        element = handle.as_element()
        assert element is not None, selector
        return await (focused_for_typing(element) if typing else plainly_clickable(element))

    return loop.run_until_complete(go())


def test_plain_elements_take_the_fast_path(page: tuple[asyncio.AbstractEventLoop, Page]) -> None:
    assert check(page, "#ok", typing=False)
    assert check(page, "#inner", typing=False)  # inside a shadow root
    for field in ("#plain", "#number", "#area", "#editable"):
        assert check(page, field, typing=True), field


def test_anything_less_plain_takes_the_checked_path(page: tuple[asyncio.AbstractEventLoop, Page]) -> None:
    for button in ("#off", "#covered", "#invisible", "#below"):
        assert not check(page, button, typing=False), button
    for field in ("#date", "#readonly", "#disabled", "#check", "#ok"):
        assert not check(page, field, typing=True), field


def test_typing_replaces_the_text_with_trusted_input_events(page: tuple[asyncio.AbstractEventLoop, Page]) -> None:
    loop, tab = page
    for field, value in (("#plain", "new value"), ("#number", "42"), ("#area", "two\nlines"), ("#editable", "fresh")):
        assert check(page, field, typing=True)
        loop.run_until_complete(tab.keyboard.insert_text(value))
        got = loop.run_until_complete(
            tab.evaluate(
                "s => { const e = document.querySelector(s); return 'value' in e ? e.value : e.textContent }", field
            )
        )
        assert got == value, field
    events = loop.run_until_complete(tab.evaluate("window.events"))
    assert {tuple(e) for e in events} == {(f, True) for f in ("plain", "number", "area", "editable")}, events

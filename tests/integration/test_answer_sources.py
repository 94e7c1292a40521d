"""Where an answer was read (worker/browser/answer_sources.py), in a real Chromium: each
kind of place is found when the agent finishes, and read again after the page changed;
a place that is gone reads as None (a replay then hands the last step to the model)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, async_playwright

from shared.settings import Settings
from worker.browser.answer_sources import locate, reread_data, reread_text
from worker.browser.chromium import launch_chromium

PAGE = """<html><body><h1>Account of alice</h1>
<p>Your code is: <b id=code>{code}</b></p>
<table><tr><th>Balance</th><td>{balance} available</td></tr></table>
<div class="orders css-1x2y3z"><span>Orders</span> <span>{orders} open</span></div>
<input id=ref value="{ref}"><p hidden>Nothing to see</p></body></html>"""
BEFORE = {"code": "ALPHA-42", "balance": "$1,250.00", "orders": "3", "ref": "REF-7781"}
AFTER = {"code": "BETA-7", "balance": "$980.50", "orders": "12", "ref": "REF-9"}


@pytest.fixture(scope="module")
def tab() -> Iterator[tuple[asyncio.AbstractEventLoop, Page]]:
    loop = asyncio.new_event_loop()
    pw = loop.run_until_complete(async_playwright().start())
    browser = loop.run_until_complete(launch_chromium(pw, Settings()))  # as the worker launches it
    page = loop.run_until_complete(browser.new_page())
    yield loop, page
    loop.run_until_complete(browser.close())
    loop.run_until_complete(pw.stop())
    loop.close()


def test_values_are_found_and_read_again(tab: tuple[asyncio.AbstractEventLoop, Page]) -> None:
    loop, page = tab

    async def go() -> None:
        await page.set_content(PAGE.format(**BEFORE))
        code = await locate(page, "ALPHA-42", None)
        words = await locate(page, "The balance is $1,250.00 and the code ALPHA-42.", None)
        data = {"code": "ALPHA-42", "balance": 1250, "orders": 3, "ref": "REF-7781", "ok": True, "unit": "dollars"}
        structured = await locate(page, None, data)
        assert await locate(page, "a summary the page never says", None) is None
        assert code is not None and code["parts"][0]["source"]["selector"] == "#code"
        assert structured is not None
        paths = {tuple(f["path"]): f["source"] for f in structured["fields"]}
        assert set(paths) == {("code",), ("balance",), ("orders",), ("ref",)}  # "dollars" and True are not on the page
        assert paths[("balance",)]["type"] == "number" and paths[("ref",)]["attribute"] == "value"
        assert paths[("orders",)]["selector"] == "div.orders > span:nth-of-type(2)"  # a named class, not a hashed one

        await page.set_content(PAGE.format(**AFTER))
        assert await reread_text(page, code) == "BETA-7"
        assert await reread_text(page, words) == "The balance is $980.50 and the code BETA-7."
        assert await reread_data(page, structured, data) == {
            **data,
            "code": "BETA-7",
            "balance": 980.5,
            "orders": 12,
            "ref": "REF-9",
        }

        await page.set_content("<p>We changed everything</p>")
        assert await reread_text(page, code) is None
        assert await reread_data(page, structured, data) is None

    loop.run_until_complete(go())

"""The fixed part of an exported script (api/script_export.py): the helpers every
script needs and its `main`. Kept as plain text formatted as `ruff format` would,
so the script a user receives reads like code of their own. `{...}` are filled in;
braces of the script itself are doubled."""

RUNTIME = '''{header}

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable

from playwright.sync_api import Frame, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

TIMEOUT_MS = 30_000  # how long an element or a page may take to appear
TEXT_WAIT_MS = 5_000  # how long the text around an answer's value may take to appear in its element
NUMBER = re.compile(r"-?\\d[\\d,]*(?:\\.\\d+)?")


def secret(key: str) -> str:
    """A secret of the run, from the environment: never written in this script."""
    value = os.environ.get(key)
    if value is None:
        sys.exit(f"set the environment variable {{key}}: a secret the run typed")
    return value


def same_page(url: str) -> Callable[[str], bool]:
    """A URL test that ignores the query and the fragment (a session token, a tracking id)."""
    return lambda now: now.split("#")[0].split("?")[0] == url.split("#")[0].split("?")[0]


class Tabs:
    """The tabs in the order they opened: the run's tab ids."""

    def __init__(self, page: Page) -> None:
        self.opened = [page]
        self.seen = 1
        page.context.on("page", self.opened_one)

    def opened_one(self, page: Page) -> None:
        self.opened.append(page)

    def follow(self, page: Page, reached: Callable[[str], bool] | None = None) -> Page:
        """The tab the last action opened, if it opened one: the run went on there. With
        `reached` (the run's next page is elsewhere), a tab that opens after the action
        returns (a page's script opens it late) is waited for too: until a tab opens or
        this page gets there."""
        for _ in range(TIMEOUT_MS // 50 if reached is not None else 0):
            if len(self.opened) > self.seen or reached(page.url):
                break
            page.wait_for_timeout(50)  # Playwright delivers a new tab's event while it waits
        if len(self.opened) > self.seen:
            self.seen = len(self.opened)
            page = self.opened[-1]
            page.wait_for_load_state()
        return page


def frame_at(page: Page, url: str) -> Frame:
    """The frame at `url` (an iframe the run read its answer in), once it has attached."""
    for _ in range(TIMEOUT_MS // 250):
        found = page.frame(url=lambda now: now == url)
        if found is not None:
            return found
        page.wait_for_timeout(250)
    sys.exit(f"the frame {{url!r}} the answer was read in is not on {{page.url}}: the page changed; edit the URL")


def read_value(
    page: Page,
    selector: str,
    prefix: str = "",
    suffix: str = "",
    attribute: str | None = None,
    number: bool = False,
    frame: str | None = None,
) -> str | int | float:
    """What the page says now where the run read a value: the text between `prefix` and `suffix`
    (in the frame at the URL `frame` when the run read it inside an iframe)."""
    scope = page if frame is None else frame_at(page, frame)
    element = scope.locator(selector).first
    try:
        element.wait_for(state="attached", timeout=TIMEOUT_MS)
    except PlaywrightTimeoutError:
        sys.exit(f"the answer's element {{selector!r}} is not on {{scope.url}}: the page changed; edit the selector")
    if prefix and not attribute:  # the text the run saw before the value: wait for it, as for a page still filling in
        try:
            scope.locator(selector).filter(has_text=prefix).first.wait_for(state="attached", timeout=TEXT_WAIT_MS)
        except PlaywrightTimeoutError:
            pass  # read what is there; the check below says what is missing
    if attribute == "value":
        raw = element.input_value()
    elif attribute:
        raw = element.get_attribute(attribute) or ""
    else:
        raw = element.text_content() or ""
    text = " ".join(raw.split())
    start, end = 0, len(text)
    if prefix:
        at = text.find(prefix)
        if at < 0:
            sys.exit(f"the answer's element {{selector!r}} no longer says {{prefix!r}} before the value: {{text!r}}")
        start = at + len(prefix)
    if suffix and (at := text.find(suffix, start)) >= 0:
        end = at
    value = text[start:end].strip()
    if not number:
        return value
    match = NUMBER.search(value)
    if match is None:
        sys.exit(f"the answer's element {{selector!r}} holds no number now: {{text!r}}")
    found = float(match.group().replace(",", ""))
    return int(found) if found.is_integer() else found


def run(page: Page, tabs: Tabs, args: argparse.Namespace) -> str:
{run}


def main() -> None:
    parser = argparse.ArgumentParser(description={description})
    parser.add_argument("--headed", action="store_true", help="show the browser window")
{options}    args = parser.parse_args()
    with sync_playwright() as playwright:
        executable = os.environ.get("CHROMIUM_PATH") or None  # else Playwright's own Chromium
        browser = playwright.chromium.launch(executable_path=executable, headless=not args.headed)
        context = browser.new_context(viewport={viewport})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            print(run(page, Tabs(page), args))
        finally:
            browser.close()


if __name__ == "__main__":
    main()
'''

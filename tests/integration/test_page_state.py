"""Page state against a real Chromium: what the model sees must match what is
on the page, and the element refs must drive the very element they name.

No pytest-asyncio: a module-scoped fixture owns an event loop, a browser and a
local HTTP server (iframes need served pages); tests call `env.run(...)`."""

from __future__ import annotations

import asyncio
import functools
import http.server
import os
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.async_api import Browser, Page, Playwright, async_playwright

from worker.browser.page_state import DOM_STATE_JS, PageState, blank_state, capture_page_state, element_handle
from worker.browser.session import BrowserSession

T = TypeVar("T")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PAGES: dict[str, str] = {
    "basic.html": """<html><head><title>Shop</title></head><body>
<h1>Welcome</h1><p>Find   what you
need.</p>
<form><input type=text name=q placeholder="Search products" aria-label=Search value="usb hub">
<button type=submit>Search</button></form>
<a href="/cart">Cart (2)</a>
<a href="https://example.com/a/very/long/path/that/goes/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on">Far</a>
<input type=password name=pw value="hunter2-secret">
<input type=checkbox name=remember checked>
<select name=country><option>France</option><option selected>Germany</option></select>
<textarea name=msg>hello there</textarea>
<div role=button aria-expanded=false>Menu</div>
<span onclick="1">Clickable span</span>
<div tabindex=0>Focusable</div>
<div contenteditable=true>Edit me</div>
<details><summary>More info</summary>Details body</details>
<div style="cursor:pointer" id=card><span>Card</span> <b>title</b></div>
</body></html>""",
    "hidden.html": """<html><body><p>Visible text</p>
<button>Shown</button>
<div style="display:none"><button>NoneParent</button><p>secret display none text</p></div>
<button style="visibility:hidden">VisHidden</button>
<button style="opacity:0">OpacityZero</button>
<div style="opacity:0"><a href="/x">OpacityParent</a></div>
<button style="width:0;height:0;padding:0;border:0;overflow:hidden">ZeroSize</button>
<input type=hidden name=tok value=abc>
<a href="/off" style="position:absolute;left:-9999px">Offscreen</a>
</body></html>""",
    "shadow.html": """<html><body><p>Before host</p><div id=host><b>slotted words</b></div>
<script>
window.clicks = 0;
const root = document.getElementById('host').attachShadow({mode: 'open'});
root.innerHTML = '<p>Shadow text <slot></slot></p><button id=sb>Shadow button</button>';
root.getElementById('sb').addEventListener('click', () => window.clicks++);
</script></body></html>""",
    "outer.html": """<html><body><p>Before frame</p>
<iframe src="/inner.html" style="width:400px;height:200px;border:5px solid black"></iframe>
<p>After frame</p></body></html>""",
    "inner.html": """<html><body><p>Inside frame</p>
<button id=fb onclick="window.clicks=(window.clicks||0)+1">Frame button</button></body></html>""",
    "nested.html": """<html><body><p>Level zero</p><div style="height:300px"></div>
<iframe src="/mid.html" style="width:600px;height:400px"></iframe></body></html>""",
    "mid.html": """<html><body><p>Level one</p><div style="height:100px"></div>
<iframe src="/inner.html" style="width:500px;height:200px"></iframe></body></html>""",
    "far_frame.html": """<html><body><p>Top</p><div style="height:5000px"></div>
<iframe src="/inner.html"></iframe></body></html>""",
    "long.html": """<html><body><button>Top button</button><div style="height:6000px">filler</div>
<button>Bottom button</button></body></html>""",
    # 300 sections far below, the window's content on top; three things CSS moves from far
    # sections into the window: a fixed link with text deep inside, a fixed icon-only button
    # that is its section's own child, and a paragraph shifted up by a negative offset.
    "far_sections.html": """<html><body><h1>Guide</h1><a href="/start">Start here</a><div id=far></div>
<script>
const far = document.getElementById('far');
for (let i = 0; i < 300; i++) {
  const s = document.createElement('section');
  s.innerHTML = '<h2>Part ' + i + '</h2><div><p>Text <a href="/p' + i + '">link ' + i + '</a> <b>more</b></p></div>';
  s.style.marginTop = '400px';
  far.appendChild(s);
}
const deep = far.children[150].querySelector('div');
const fixed = 'style="position:fixed;width:30px;height:30px;';
deep.insertAdjacentHTML('beforeend', '<div><a href=/chat ' + fixed + 'top:8px;right:8px">Chat with us</a></div>');
far.children[200].insertAdjacentHTML('beforeend', '<button aria-label="Back to top" ' + fixed + 'bottom:0"></button>');
far.children[3].querySelector('p').style.cssText = 'position:relative;top:-1800px';
</script></body></html>""",
    # Prototype.js 1.6 gives arrays a toJSON that JSON.stringify then calls: a string for each list.
    "prototype_js.html": """<html><body><script>
Array.prototype.toJSON = function () { return "[" + this.length + " items]"; };
</script><h1>Legacy portal</h1><a href="/invoices">Invoices</a><button>Download</button></body></html>""",
    "labels.html": """<html><body><div id=box></div><p>Pick one: <input type=radio name=r value=a></p>
<script>
// Two blank text nodes and a comment between a checkbox and its words (a script built it so;
// the parser would have merged the blanks): the label is found past them, both ways.
const box = document.getElementById('box'), cb = document.createElement('input');
cb.type = 'checkbox';
const blank = (s) => document.createTextNode(s);
box.append(cb, blank(' '), blank('  '), document.createComment('x'), 'Send me news');
</script></body></html>""",
    "counters.html": """<html><body><div id=list></div><script>
window.counts = {};
const list = document.getElementById('list');
for (let i = 0; i < 20; i++) {
  const b = document.createElement('button');
  b.textContent = 'Button ' + i;
  b.addEventListener('click', () => { window.counts[i] = (window.counts[i] || 0) + 1; });
  list.appendChild(b);
}
</script></body></html>""",
}


class Env:
    """A loop, a browser and a server shared by the module's tests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.loop = asyncio.new_event_loop()
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.pw: Playwright = self.run(async_playwright().start())
        self.browser: Browser = self.run(
            self.pw.chromium.launch(
                executable_path=os.environ.get("BROWSERQ_CHROMIUM_PATH", "/usr/bin/chromium"),
                args=CHROMIUM_ARGS,
                headless=True,
            )
        )

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    def with_page(self, path: str, body: Callable[[Page], Awaitable[T]]) -> T:
        """Open `path` in a fresh page, run `body`, close the page."""

        async def go() -> T:
            page = await self.browser.new_page(viewport={"width": 1280, "height": 720})
            try:
                await page.goto(f"{self.base}/{path}")
                return await body(page)
            finally:
                await page.close()

        return self.run(go())

    def close(self) -> None:
        self.run(self.browser.close())
        self.run(self.pw.stop())
        self.loop.close()
        self.server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("pages")
    for name, html in PAGES.items():
        (root / name).write_text(html, encoding="utf-8")
    e = Env(root)
    yield e
    e.close()


def lines_of(state: PageState) -> list[str]:
    return state.text.split("\n")


def ref_by_text(state: PageState, needle: str) -> int:
    matches = [i for i, r in state.elements.items() if needle in r.description]
    assert len(matches) == 1, (needle, state.text)
    return matches[0]


def test_finds_elements_with_attributes_and_text(env: Env) -> None:
    state = env.with_page("basic.html", capture_page_state)
    descs = [r.description for r in state.elements.values()]
    assert state.title == "Shop" and state.url.endswith("/basic.html")
    assert '<input type=text name=q placeholder="Search products" aria-label=Search value="usb hub" />' in descs
    assert "<button type=submit>Search</button>" in descs
    assert "<a href=/cart>Cart (2)</a>" in descs
    assert "<input type=checkbox name=remember checked />" in descs
    assert "<select name=country value=Germany>France | Germany</select>" in descs
    assert '<textarea name=msg value="hello there"></textarea>' in descs
    assert "<div role=button aria-expanded=false>Menu</div>" in descs
    assert "<span>Clickable span</span>" in descs
    assert "<div>Focusable</div>" in descs
    assert "<div contenteditable>Edit me</div>" in descs
    assert "<summary>More info</summary>" in descs
    assert "<div>Card title</div>" in descs  # cursor:pointer, its spans not listed again
    far = next(d for d in descs if "example.com" in d)
    assert len(re.search(r"href=\"?([^\" >]+)", far).group(1)) <= 80
    # Lines are "[N]<...>" in order; indices are 1..N; readable text in between.
    text = lines_of(state)
    assert text[0] == "Welcome" and text[1] == "Find what you need."
    assert [ln for ln in text if ln.startswith("[")] == [f"[{i}]{r.description}" for i, r in state.elements.items()]
    assert list(state.elements) == list(range(1, len(state.elements) + 1))
    assert "Card" not in [ln for ln in text if not ln.startswith("[")]  # not repeated as text


def test_a_checkbox_is_labelled_by_the_text_beside_it(env: Env) -> None:
    descs = [r.description for r in env.with_page("labels.html", capture_page_state).elements.values()]
    assert descs == [
        '<input type=checkbox label="Send me news" />',
        '<input type=radio name=r value=a label="Pick one:" />',
    ]


def test_hidden_elements_skipped(env: Env) -> None:
    state = env.with_page("hidden.html", capture_page_state)
    assert [r.description for r in state.elements.values()] == ["<button type=submit>Shown</button>"]
    for word in (
        "NoneParent",
        "secret display none",
        "VisHidden",
        "OpacityZero",
        "OpacityParent",
        "ZeroSize",
        "tok",
        "Offscreen",
    ):
        assert word not in state.text
    assert "Visible text" in state.text


def test_password_value_never_emitted(env: Env) -> None:
    async def body(page: Page) -> PageState:
        await page.fill("input[name=pw]", "typed-password-42")
        return await capture_page_state(page)

    state = env.with_page("basic.html", body)
    assert "<input type=password name=pw />" in state.text
    assert "hunter2" not in state.text and "typed-password-42" not in state.text


def test_shadow_root_element_found_and_clickable(env: Env) -> None:
    async def body(page: Page) -> tuple[PageState, int]:
        state = await capture_page_state(page)
        handle = await element_handle(state.elements[ref_by_text(state, "Shadow button")])
        assert handle is not None
        await handle.click()
        return state, await page.evaluate("window.clicks")

    state, clicks = env.with_page("shadow.html", body)
    assert clicks == 1
    assert "Shadow text slotted words" in state.text


def test_iframe_element_found_in_place_and_clickable(env: Env) -> None:
    async def body(page: Page) -> tuple[PageState, int]:
        state = await capture_page_state(page)
        ref = state.elements[ref_by_text(state, "Frame button")]
        assert ref.frame is not page.main_frame
        handle = await element_handle(ref)
        assert handle is not None
        await handle.click()
        return state, await ref.frame.evaluate("window.clicks")

    state, clicks = env.with_page("outer.html", body)
    assert clicks == 1
    text = lines_of(state)
    frame_line = next(ln for ln in text if "Frame button" in ln)
    assert text.index("Before frame") < text.index("Inside frame") < text.index(frame_line) < text.index("After frame")


def test_nested_iframe_found_and_clickable(env: Env) -> None:
    async def body(page: Page) -> tuple[PageState, int]:
        state = await capture_page_state(page)
        ref = state.elements[ref_by_text(state, "Frame button")]
        assert ref.frame.parent_frame is not None and ref.frame.parent_frame.parent_frame is page.main_frame
        handle = await element_handle(ref)
        assert handle is not None
        await handle.click()
        return state, await ref.frame.evaluate("window.clicks")

    state, clicks = env.with_page("nested.html", body)
    assert clicks == 1
    text = lines_of(state)
    assert text.index("Level zero") < text.index("Level one") < text.index("Inside frame")


def test_cross_origin_iframe_found_and_clickable(env: Env) -> None:
    """127.0.0.1 and localhost are different sites: the iframe is out of process."""
    port = env.base.rsplit(":", 1)[1]
    (env.root / "cross.html").write_text(
        f'<html><body><p>Host page</p><iframe src="http://localhost:{port}/inner.html"></iframe></body></html>',
        encoding="utf-8",
    )

    async def body(page: Page) -> tuple[PageState, int]:
        state = await capture_page_state(page)
        ref = state.elements[ref_by_text(state, "Frame button")]
        handle = await element_handle(ref)
        assert handle is not None
        await handle.click()
        return state, await ref.frame.evaluate("window.clicks")

    state, clicks = env.with_page("cross.html", body)
    assert clicks == 1 and "Inside frame" in state.text


def test_iframe_far_below_not_listed(env: Env) -> None:
    state = env.with_page("far_frame.html", capture_page_state)
    assert "Frame button" not in state.text and state.pixels_below > 0


def test_far_subtrees_are_not_walked_but_what_css_moves_into_the_window_is_listed(env: Env) -> None:
    async def body(page: Page) -> tuple[PageState, dict[str, Any]]:
        raw = await page.evaluate(DOM_STATE_JS, {})
        return await capture_page_state(page), raw

    state, raw = env.with_page("far_sections.html", body)
    assert "Start here" in state.text and "Part 0" in state.text and "link 299" not in state.text
    assert "Chat with us" in state.text and 'aria-label="Back to top"' in state.text, state.text
    assert "link 3" in state.text, state.text  # Part 3's paragraph, moved up into the window
    # 300 sections of 6 elements: the far ones are passed over with one box query each.
    assert raw["walked"] < 600, raw["walked"]


def test_a_page_whose_library_changes_json_is_captured_all_the_same(env: Env) -> None:
    state = env.with_page("prototype_js.html", capture_page_state)
    assert "Legacy portal" in state.text and "Invoices" in state.text and "Download" in state.text, state.text
    assert len(state.elements) == 2


def test_new_elements_marked_on_second_capture(env: Env) -> None:
    async def body(page: Page) -> tuple[PageState, PageState]:
        first = await capture_page_state(page)
        await page.evaluate("""() => { const b = document.createElement('button');
            b.textContent = 'Fresh'; document.body.prepend(b); }""")
        return first, await capture_page_state(page, first.descriptions())

    first, second = env.with_page("counters.html", body)
    assert "*" not in first.text
    new = [ln for ln in lines_of(second) if ln.startswith("*")]
    assert new == ["*[1]<button type=submit>Fresh</button>"]
    assert [r.is_new for r in second.elements.values()].count(True) == 1


def test_long_page_scroll_position(env: Env) -> None:
    async def body(page: Page) -> tuple[PageState, PageState]:
        top = await capture_page_state(page)
        await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        return top, await capture_page_state(page)

    top, bottom = env.with_page("long.html", body)
    assert top.pixels_above == 0 and top.pixels_below > 5000 and top.pages_below > 7
    assert "Top button" in top.text and "Bottom button" not in top.text
    assert bottom.pixels_above > 5000 and bottom.pixels_below == 0
    assert "Bottom button" in bottom.text and "Top button" not in bottom.text


def test_text_budget_respected(env: Env) -> None:
    async def body(page: Page) -> PageState:
        await page.set_content(
            "".join(f"<p>{'lorem ipsum dolor sit amet ' * 40} para {i}</p><button>B{i}</button>" for i in range(30))
        )
        return await capture_page_state(page, budget_chars=3000)

    state = env.with_page("counters.html", body)
    assert len(state.text) <= 3000
    near = [i for i in range(30) if f">B{i}</button>" in state.text]
    assert near and len(near) == len(state.elements)  # every listed element kept, text shortened
    assert "\u2026" in state.text


def test_elements_beyond_budget_dropped(env: Env) -> None:
    state = env.with_page("counters.html", lambda page: capture_page_state(page, budget_chars=200))
    assert len(state.text) <= 200 and 0 < len(state.elements) < 20
    assert all(f"[{i}]" in state.text for i in state.elements)


def test_refs_click_the_right_element(env: Env) -> None:
    async def body(page: Page) -> dict[str, int]:
        state = await capture_page_state(page)
        for needle in ("Button 7<", "Button 13<", "Button 7<"):
            handle = await element_handle(state.elements[ref_by_text(state, needle)])
            assert handle is not None
            await handle.click()
        return await page.evaluate("window.counts")

    assert env.with_page("counters.html", body) == {"7": 2, "13": 1}


def test_stale_refs_resolve_to_none(env: Env) -> None:
    async def body(page: Page) -> list[bool]:
        old = await capture_page_state(page)
        await capture_page_state(page)
        stale = await element_handle(old.elements[1])
        fresh = await capture_page_state(page)
        await page.evaluate("document.querySelector('button').remove()")
        removed = await element_handle(fresh.elements[1])
        await page.goto(f"{env.base}/hidden.html")
        navigated = await element_handle(fresh.elements[2])
        return [stale is None, removed is None, navigated is None]

    assert env.with_page("counters.html", body) == [True, True, True]


def test_a_tab_nothing_opened_anything_in_is_known_blank(env: Env, tmp_path: Path) -> None:
    """The agent's first look at its fresh tab is not read (page_state.blank_state), so it must
    say what reading it says, and a tab stops counting as blank once anything loads or is
    written into it (the next look reads the page)."""

    async def go() -> dict[str, Any]:
        context = await env.browser.new_context(viewport={"width": 1280, "height": 720})
        try:
            session = BrowserSession(context, tmp_path / "downloads")
            first = await session.start()
            out: dict[str, Any] = {"fresh": session.pristine(first)}
            known, read = blank_state(first), await capture_page_state(first)
            out["same"] = [
                (getattr(known, f), getattr(read, f))
                for f in ("url", "title", "text", "elements", "pixels_above", "pixels_below", "viewport_height")
            ]
            await first.goto(f"{env.base}/basic.html")
            out["navigated"] = session.pristine(first)
            second = await session.open_tab()
            out["second"] = session.pristine(second)
            await second.set_content("<h1>Written in</h1>")  # no navigation, no request
            out["written"] = session.pristine(second)
            third = await session.open_tab()
            await third.evaluate("location.href = 'about:blank#x'")  # a same-document navigation
            await third.wait_for_url("about:blank#x")
            out["moved"] = session.pristine(third)
            return out
        finally:
            await context.close()

    out = env.run(go())
    assert out["fresh"] is True and out["second"] is True
    assert all(a == b for a, b in out["same"]), out["same"]
    assert out["navigated"] is False and out["written"] is False and out["moved"] is False


def test_the_capture_counts_the_tabs_the_page_asked_for(env: Env, tmp_path: Path) -> None:
    """The agent loop takes the count before a step's first click from the capture instead of
    asking the page again (worker/agent/loop.py), so the two must agree."""

    async def go() -> list[tuple[int | None, int | None]]:
        context = await env.browser.new_context()
        try:
            session = BrowserSession(context, tmp_path / "downloads")
            page = await session.start()
            await page.goto(f"{env.base}/basic.html")
            seen = [((await capture_page_state(page)).tabs_asked, await session.tabs_requested())]
            await page.evaluate("window.open('about:blank'); window.open('about:blank')")
            await page.bring_to_front()
            session.current = page  # the opened tabs became current; read the opener again
            seen.append(((await capture_page_state(page)).tabs_asked, await session.tabs_requested()))
            return seen
        finally:
            await context.close()

    assert env.run(go()) == [(0, 0), (2, 2)]

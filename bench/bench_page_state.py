"""Benchmark of `capture_page_state` on big pages, run by hand:

    python bench/bench_page_state.py [--runs 15] [--sizes 7000 35000] [--listeners] [--widgets] [--against REV]

Why: page state is captured every step, and on heavy pages (browser-use takes
12-15 s on a 35,000-element page) it can dominate a step's time. Targets:
well under 300 ms at ~7,000 elements, well under 1 s at ~35,000.

Pages are generated (cards of links, buttons, inputs, nested divs with text,
plus a share of hidden and cursor:pointer elements) and served from
127.0.0.1; each size is captured once to warm up, then `--runs` times, at the
top of the page and in the middle (scrolled). With `--listeners` a script adds
click listeners to every card and every heading (the widgets of issue 17: the
headings are then listed, the cards are containers around listed controls).
With `--widgets` each card also holds the widgets of issue 25 (a textless icon, a
labelled checkbox, an SVG icon with a title, a select of 12 options).
The context gets the worker's listener probe, as a task's does (older commits,
measured for a "before", have none). `--against REV` also times the page-state
script of git revision REV, alternating with this tree's capture by capture,
so a before/after ratio is measured under the same load (the machine is shared)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from worker.browser import page_state
from worker.browser.page_state import capture_page_state


def probe_installer() -> Callable[[BrowserContext], Awaitable[None]] | None:
    """The worker's listener probe installer; None in a commit before it (run for a "before" figure)."""
    try:
        from worker.browser.listeners import install_listener_probe
    except ImportError:
        return None
    return install_listener_probe


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ELEMENTS_PER_CARD = 14


def card(i: int) -> str:
    """One card of 14 elements: text, a link, a button, an input, nesting, a pointer div, a hidden bit."""
    return (
        f'<div class="card"><div class="head"><h3>Product {i}</h3><span class="tag">new</span></div>'
        f"<p>Description of product {i}: sturdy, light and <em>cheap</em>.</p>"
        f'<div class="row"><a href="/item/{i}?ref=list">Open item {i}</a>'
        f'<button type="button">Add {i} to cart</button>'
        f'<input type="number" name="qty{i}" value="1"></div>'
        f'<div class="more" style="cursor:pointer"><span>Details</span></div>'
        f'<div style="display:none"><span>hidden {i}</span></div></div>'
    )


def widget_row(i: int) -> str:
    """The widgets of issue 25, 21 elements: a textless icon with a handler (named by class and
    colour), a checkbox in its label, an SVG icon with a title, a select of 12 options."""
    options = "".join(f"<option>Size {k}</option>" for k in range(12))
    return (
        f'<div class="tools"><span class="reply" onclick="" style="display:inline-block;width:12px;height:12px;'
        f'background:#c33"></span><label><input type="checkbox" name="keep{i}"> Keep {i}</label>'
        f'<svg width="12" height="12"><title>Rating {i}</title><circle cx="6" cy="6" r="5" /></svg>'
        f'<select name="size{i}">{options}</select></div>'
    )


WIDGET_ELEMENTS = 21

LISTENERS_JS = (
    "<script>for (const el of document.querySelectorAll('.card, h3')) el.addEventListener('click', () => {});</script>"
)


def page_html(elements: int, listeners: bool = False, widgets: bool = False) -> str:
    per_card = ELEMENTS_PER_CARD + (WIDGET_ELEMENTS if widgets else 0)
    cards = "".join(card(i) + (widget_row(i) if widgets else "") for i in range(max(1, elements // per_card)))
    style = "<style>.card{border:1px solid #ccc;margin:4px;padding:4px}.row{display:flex;gap:4px}</style>"
    script = LISTENERS_JS if listeners else ""
    return f"<!doctype html><html><head><title>Bench</title>{style}</head><body>{cards}{script}</body></html>"


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


async def measure(page: Page, runs: int) -> tuple[list[float], dict[str, Any]]:
    """Warm up once, then time `runs` captures; returns the times (ms) and facts about the last state."""
    state = await capture_page_state(page)
    times: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        state = await capture_page_state(page, state.descriptions())
        times.append((time.perf_counter() - t0) * 1000)
    return times, {"listed": len(state.elements), "chars": len(state.text)}


async def compare(page: Page, runs: int, scripts: dict[str, str]) -> dict[str, list[float]]:
    """Time each named page-state script `runs` times, taking turns (in reversed order every other
    round, so neither always runs right after the other), after one warm-up each."""
    times: dict[str, list[float]] = {name: [] for name in scripts}
    try:
        for n in range(runs + 1):
            for name, script in list(scripts.items())[:: 1 if n % 2 else -1]:
                page_state.DOM_STATE_JS = script
                t0 = time.perf_counter()
                await capture_page_state(page)
                if n:
                    times[name].append((time.perf_counter() - t0) * 1000)
    finally:
        page_state.DOM_STATE_JS = scripts["this tree"]
    return times


def script_at(rev: str) -> str:
    path = "worker/browser/dom_state.js"
    return subprocess.run(
        ["git", "show", f"{rev}:{path}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def main(
    sizes: list[int], runs: int, listeners: bool = False, against: str | None = None, widgets: bool = False
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for n in sizes:
            (root / f"p{n}.html").write_text(page_html(n, listeners, widgets), encoding="utf-8")
        server, base = serve(root)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=os.environ.get("BROWSERQ_CHROMIUM_PATH", "/usr/bin/chromium"),
                args=CHROMIUM_ARGS,
                headless=True,
            )
            page = await browser.new_page(viewport={"width": 1280, "height": 720})
            if (install := probe_installer()) is not None:
                await install(page.context)
            scripts = {"this tree": page_state.DOM_STATE_JS, **({against: script_at(against)} if against else {})}
            if against:
                print(
                    f"{'elements':>9} {'where':>6} "
                    + " ".join(f"{name[:12] + ' ms':>15}" for name in scripts)
                    + f" {'ratio':>6}"
                )
            else:
                print(f"{'elements':>9} {'where':>6} {'median ms':>10} {'p95 ms':>8} {'listed':>7} {'chars':>7}")
            for n in sizes:
                await page.goto(f"{base}/p{n}.html")
                count = await page.evaluate("document.getElementsByTagName('*').length")
                for where in ("top", "middle"):
                    if where == "middle":
                        await page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
                    if against:
                        both = [statistics.median(t) for t in (await compare(page, runs, scripts)).values()]
                        print(
                            f"{count:>9} {where:>6} "
                            + " ".join(f"{m:>15.1f}" for m in both)
                            + f" {both[0] / both[1]:>6.2f}"
                        )
                        continue
                    times, facts = await measure(page, runs)
                    print(
                        f"{count:>9} {where:>6} {statistics.median(times):>10.1f} {p95(times):>8.1f}"
                        f" {facts['listed']:>7} {facts['chars']:>7}"
                    )
            await browser.close()
        server.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sizes", type=int, nargs="+", default=[7000, 35000])
    parser.add_argument("--listeners", action="store_true", help="cards and headings get click listeners by script")
    parser.add_argument("--against", metavar="REV", help="alternate with the page-state script of this git revision")
    parser.add_argument("--widgets", action="store_true", help="each card also gets issue 25's widgets")
    parser.add_argument("--smoke", action="store_true", help="one small page, two runs: checks that it runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.runs = [500], 2
    asyncio.run(main(args.sizes, args.runs, args.listeners, args.against, args.widgets))

"""Benchmark of a step's screenshot and of the session recording, run by hand:

    python bench/bench_media.py [--runs 20]

Why: every step takes a screenshot (with element labels when asked), so its
cost is paid on every step; the recording runs for the whole task. Measures,
on a 1280x960 page with ~200 interactive elements: the screenshot (JPEG,
password mask) with and without labels, its size, and the CPU the recorder's
ffmpeg uses per second of recording."""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from worker.browser.page_state import capture_page_state
from worker.browser.session import BrowserSession
from worker.media.recorder import ScreencastRecorder
from worker.media.screenshots import take_screenshot

PAGE = "<h1>Shop</h1><input type=password value=secret>" + "".join(
    f"<p>Item {i} <a href='#{i}'>link {i}</a> <button>Buy {i}</button></p>" for i in range(100)
)


async def main(runs: int, chromium: str) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        context = await browser.new_context(viewport={"width": 1280, "height": 960})
        session = BrowserSession(context, Path(tempfile.mkdtemp()))
        page = await session.start()
        await page.set_content(PAGE)
        state = await capture_page_state(page)
        for highlight in (False, True):
            times, sizes = [], []
            for _ in range(runs + 1):
                t = time.perf_counter()
                data = (await take_screenshot(page, state, highlight, 70)).jpeg
                times.append((time.perf_counter() - t) * 1000)
                sizes.append(len(data or b""))
            times = times[1:]
            print(
                f"screenshot highlight={highlight}: p50 {statistics.median(times):.1f} ms, "
                f"max {max(times):.1f} ms, {statistics.median(sizes) / 1024:.0f} KiB "
                f"({len(state.elements)} elements)"
            )
        target = Path(tempfile.mkdtemp()) / "rec.webm"
        recorder = ScreencastRecorder(session, target, 1280, 960)
        cpu0 = _children_cpu()
        await recorder.start()
        t = time.perf_counter()
        for i in range(50):  # a page that keeps changing
            await page.evaluate("i => window.scrollTo(0, i * 40)", i)
            await asyncio.sleep(0.1)
        seconds = time.perf_counter() - t
        t_stop = time.perf_counter()
        await recorder.stop()
        stop_ms = (time.perf_counter() - t_stop) * 1000
        cpu = _children_cpu() - cpu0  # ffmpeg has exited and been waited for: its whole CPU time
        print(
            f"recording: {seconds:.1f} s -> {target.stat().st_size / 1024:.0f} KiB, "
            f"ffmpeg CPU {cpu / seconds * 100:.0f}% of one core, finishing the file took {stop_ms:.0f} ms"
        )
        await browser.close()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--smoke", action="store_true", help="two runs: checks that the bench runs (CI), no figures")
    args = parser.parse_args()
    asyncio.run(main(2 if args.smoke else args.runs, args.chromium))

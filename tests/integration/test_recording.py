"""The session recording against a real Chromium and the real ffmpeg: frames are
kept only when the page repaints, so the video must still keep real time across
a still page, and have the scaled size."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import imageio_ffmpeg
from playwright.async_api import async_playwright

from tests.support.stack import CHROMIUM
from worker.browser.session import BrowserSession
from worker.media.recorder import ScreencastRecorder, concat_list, recording_size


async def _record(still_seconds: float) -> tuple[Path | None, int]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 960})
            session = BrowserSession(context, Path(tempfile.mkdtemp()) / "downloads")
            page = await session.start()
            recorder = ScreencastRecorder(session, Path(tempfile.mkdtemp()) / "r.webm", 1280, 960)
            assert await recorder.start()
            await page.set_content("<h1>Moving</h1>" + "<p>line</p>" * 400)
            for _ in range(10):  # a page that repaints: about 2 s
                await page.evaluate("window.scrollBy(0, 100)")
                await asyncio.sleep(0.2)
            await asyncio.sleep(still_seconds)  # nothing repaints: no frames arrive
            frames = len(recorder._frames)
            return await recorder.stop(), frames
        finally:
            await browser.close()


def test_a_still_page_keeps_its_time_in_the_video_at_the_scaled_size() -> None:
    video, frames = asyncio.run(_record(still_seconds=2.0))
    assert video is not None and video.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
    assert 1 <= frames <= 16  # repaints at 60 Hz, kept at most 5 a second
    _count, seconds = imageio_ffmpeg.count_frames_and_secs(str(video))
    assert 3.5 <= seconds <= 12, seconds  # the 2 still seconds are in the video
    reader = imageio_ffmpeg.read_frames(str(video))
    meta = next(reader)
    reader.close()
    assert tuple(meta["size"]) == (640, 480)
    assert not video.with_suffix(".frames").exists()  # the kept frames are gone once encoded


def test_recording_size_and_concat_list() -> None:
    assert recording_size(1280, 960) == (640, 480)
    assert recording_size(401, 301) == (400, 300)
    listing = concat_list([(10.0, Path("a.jpg")), (10.5, Path("b.jpg"))], ended=13.0)
    assert listing.splitlines() == [
        "ffconcat version 1.0",
        "file 'a.jpg'",
        "duration 0.500",
        "file 'b.jpg'",
        "duration 2.500",
        "file 'b.jpg'",
    ]

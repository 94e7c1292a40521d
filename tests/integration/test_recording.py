"""The session recording against a real Chromium and the real ffmpeg: frames are
kept only when the page repaints, so the video must still keep real time across
a still page, and have the scaled size."""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import imageio_ffmpeg
from PIL import Image
from playwright.async_api import Page, async_playwright

from tests.support.stack import CHROMIUM
from worker.browser.page_state import capture_page_state
from worker.browser.session import BrowserSession
from worker.media.recorder import ScreencastRecorder, concat_list, recording_size
from worker.media.screenshots import take_screenshot


@asynccontextmanager
async def _recorded_tab() -> AsyncIterator[tuple[Page, ScreencastRecorder]]:
    """A 1280x960 tab of a fresh Chromium with its recorder started."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 960})
            session = BrowserSession(context, Path(tempfile.mkdtemp()) / "downloads")
            page = await session.start()
            recorder = ScreencastRecorder(session, Path(tempfile.mkdtemp()) / "r.webm", 1280, 960)
            assert await recorder.start()
            yield page, recorder
        finally:
            await browser.close()


async def _record(still_seconds: float) -> tuple[Path | None, int]:
    async with _recorded_tab() as (page, recorder):
        await page.set_content("<h1>Moving</h1>" + "<p>line</p>" * 400)
        for _ in range(10):  # a page that repaints: about 2 s
            await page.evaluate("window.scrollBy(0, 100)")
            await asyncio.sleep(0.2)
        await asyncio.sleep(still_seconds)  # nothing repaints: no frames arrive
        frames = len(recorder._frames)
        return await recorder.stop(), frames


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


def _coloured(jpeg: bytes) -> int:
    """Pixels of a strong colour (the labels' boxes): the page itself is black on white."""
    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    return sum(1 for r, g, b in image.get_flattened_data() if max(r, g, b) - min(r, g, b) > 120)


async def _shoot_while_recording() -> tuple[bytes | None, list[bytes], int]:
    async with _recorded_tab() as (page, recorder):
        links = "".join(f'<p><a href="#a{i}">link number {i}</a></p>' for i in range(30))
        await page.set_content(f"<h1>Links</h1>{links}")
        await asyncio.sleep(1.0)  # the recorder follows the tab and has the page's frame
        state = await capture_page_state(page)
        before = len(recorder._frames)
        async with recorder.paused():
            shot = await take_screenshot(page, state, True, 70)
            await asyncio.sleep(0.5)  # frames would have come by now
        during = len(recorder._frames) - before
        await page.evaluate("window.scrollBy(0, 200)")  # it records again after
        await asyncio.sleep(1.0)
        frames = [path.read_bytes() for _, path in recorder._frames]
        await recorder.stop()
        return shot.jpeg, frames, during


def test_the_labels_of_a_step_screenshot_stay_out_of_the_recording() -> None:
    shot, frames, during = asyncio.run(_shoot_while_recording())
    assert shot is not None and _coloured(shot) > 1000  # the step's screenshot has its labels
    assert during == 0  # no frame while the screenshot was taken
    assert len(frames) >= 2  # the page before, and after the scroll
    assert all(_coloured(frame) < 50 for frame in frames), [_coloured(f) for f in frames]

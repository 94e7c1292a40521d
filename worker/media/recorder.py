"""A video of the browser session, made from Chromium's DevTools screencast.

Playwright's own `record_video_dir` needs an ffmpeg build that
`playwright install ffmpeg` downloads from a CDN (not reachable from every
host), so the frames Chromium pushes (`Page.screencastFrame`, JPEG) are
encoded to WebM (VP8) by the ffmpeg binary shipped inside the `imageio-ffmpeg`
wheel. The recorder follows the task's current tab.

Why it costs little (bench/bench_density.py measures it; docs/benchmarks.md):

* Frames are scaled in Chromium (`maxWidth`/`maxHeight`, at most
  MAX_WIDTH wide), so it JPEG-encodes and ships a quarter of the pixels.
* Chromium sends a frame only when the page repaints, and the next only once
  the last one is acknowledged: acks are held back so it sends at most FPS a
  second, however fast the page repaints (a scroll repaints at 60 Hz).
* A still page sends nothing and nothing is written: each frame is kept as a
  JPEG file with the time it arrived, and lasts until the next one.
* No encoder runs while the task does: the kept frames are encoded once, when
  the task ends (ffmpeg's concat demuxer gives each frame its duration), so a
  running task holds neither an ffmpeg process nor its buffers.
* The screencast stops while a step's screenshot is taken (`paused`): the labels and
  masks drawn for it, then taken away, were three of a step's four frames on the
  density bench, shown in the video though the page never had them."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

from playwright.async_api import CDPSession, Page

from worker.browser.session import BrowserSession

log = logging.getLogger("browserq.media")

FPS = 5
JPEG_QUALITY = 60
MAX_WIDTH = 640  # recording width; the height keeps the viewport's aspect
FOLLOW_SECONDS = 0.25  # how often the recorder checks which tab is current
ENCODE_TIMEOUT = 60.0
MIN_LAST_FRAME = 1 / FPS


def ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg

        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
        return exe
    except (ImportError, RuntimeError) as exc:
        log.warning("no ffmpeg for recordings (%s): install imageio-ffmpeg", exc)
        return None


def recording_size(width: int, height: int) -> tuple[int, int]:
    """The video's size: at most MAX_WIDTH wide, the viewport's aspect, even sides (VP8 wants them)."""
    if width > MAX_WIDTH:
        width, height = MAX_WIDTH, round(height * MAX_WIDTH / width)
    return width - width % 2, max(2, height - height % 2)


class ScreencastRecorder:
    def __init__(self, session: BrowserSession, target: Path, width: int, height: int) -> None:
        self.session, self.target = session, target
        self.width, self.height = recording_size(width, height)
        self.frames_dir = target.with_suffix(".frames")
        self._frames: list[tuple[float, Path]] = []  # (arrival time, JPEG file)
        self._last_frame: bytes | None = None
        self._next_ack = 0.0
        self._page: Page | None = None
        self._cdp: CDPSession | None = None
        self._follower: asyncio.Task[None] | None = None
        self._acks: set[asyncio.Task[None]] = set()  # frame acks on their way (the loop keeps only weak references)
        self._exe: str | None = None
        self._pause = asyncio.Lock()  # held while the screencast is stopped for a screenshot

    async def start(self) -> bool:
        self._exe = ffmpeg_exe()
        if self._exe is None:
            return False
        self.frames_dir.mkdir(parents=True, exist_ok=True)
        self._follower = asyncio.create_task(self._follow())
        return True

    async def _follow(self) -> None:
        while True:
            async with self._pause:
                await self._follow_current_tab()
            await asyncio.sleep(FOLLOW_SECONDS)

    async def _follow_current_tab(self) -> None:
        page = self.session.current
        if page is None or page is self._page or page.is_closed():
            return
        await self._detach()
        try:
            cdp = await page.context.new_cdp_session(page)
            cdp.on("Page.screencastFrame", lambda event: self._on_frame(cdp, event))
            await self._start_screencast(cdp)
        except Exception as exc:  # a tab closing under us: try again on the next round
            log.debug("screencast not started: %s", exc)
            return
        self._page, self._cdp = page, cdp

    async def _start_screencast(self, cdp: CDPSession) -> None:
        params = {"format": "jpeg", "quality": JPEG_QUALITY, "maxWidth": self.width, "maxHeight": self.height}
        await cdp.send("Page.startScreencast", {**params, "everyNthFrame": 1})

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """No frames while inside: what is drawn on the page for a step's screenshot and
        taken away after it stays out of the video (and costs no frames). On resuming,
        Chromium sends the page as it is, kept only if it differs from the last frame."""
        async with self._pause:
            cdp = self._cdp
            if cdp is not None:
                await _quiet(cdp.send("Page.stopScreencast"))
            try:
                yield
            finally:
                if cdp is not None and cdp is self._cdp:
                    await _quiet(self._start_screencast(cdp))

    def _on_frame(self, cdp: CDPSession, event: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        data = base64.b64decode(event["data"])
        if data != self._last_frame:
            path = self.frames_dir / f"{len(self._frames):06d}.jpg"
            path.write_bytes(data)  # a few tens of KB into the page cache: cheaper than a thread hop
            self._frames.append((now, path))
            self._last_frame = data
        # Chromium sends the next frame once this one is acknowledged: at most FPS a second.
        delay = max(0.0, self._next_ack - now)
        self._next_ack = now + delay + 1 / FPS
        ack = {"sessionId": event["sessionId"]}
        loop.call_later(delay, self._ack, cdp, ack)

    def _ack(self, cdp: CDPSession, ack: dict[str, Any]) -> None:
        task = asyncio.ensure_future(_quiet(cdp.send("Page.screencastFrameAck", ack)))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _detach(self) -> None:
        if self._cdp is not None:
            await _quiet(self._cdp.send("Page.stopScreencast"))
            await _quiet(self._cdp.detach())
        self._cdp = self._page = None

    async def stop(self) -> Path | None:
        """Encode the kept frames into the file; returns it, or None when nothing was recorded."""
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self._detach()
        try:
            if not self._frames or self._exe is None:
                return None
            return await self._encode(self._exe, asyncio.get_running_loop().time())
        finally:
            shutil.rmtree(self.frames_dir, ignore_errors=True)

    async def _encode(self, exe: str, ended: float) -> Path | None:
        listing = self.frames_dir / "frames.ffconcat"
        listing.write_text(concat_list(self._frames, ended))
        proc = await asyncio.create_subprocess_exec(
            exe,
            "-loglevel",
            "error",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-an",
            "-c:v",
            "libvpx",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-b:v",
            "1M",
            "-crf",
            "10",
            "-threads",
            "1",
            "-lag-in-frames",
            "0",
            "-auto-alt-ref",
            "0",
            "-fps_mode",
            "vfr",
            "-vf",
            f"scale={self.width}:{self.height},format=yuv420p",
            str(self.target),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, err = await asyncio.wait_for(proc.communicate(), ENCODE_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            log.warning("encoding the recording took over %g s; not stored", ENCODE_TIMEOUT)
            return None
        except asyncio.CancelledError:  # the wrap-up's bound: no encoder outlives it
            proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            log.warning("the recording could not be encoded: %s", err.decode(errors="replace")[-500:])
            return None
        return self.target if self.target.exists() and self.target.stat().st_size > 0 else None


def concat_list(frames: list[tuple[float, Path]], ended: float) -> str:
    """ffmpeg's concat script: each frame lasts until the next arrived, the last until the end.
    The last file is named twice, as the demuxer ignores the last entry's duration otherwise."""
    lines = ["ffconcat version 1.0"]
    last = (max(ended, frames[-1][0] + MIN_LAST_FRAME), None)
    for (at, path), (next_at, _) in zip(frames, [*frames[1:], last], strict=True):
        lines += [f"file '{path.name}'", f"duration {max(next_at - at, 0.001):.3f}"]
    lines.append(f"file '{frames[-1][1].name}'")
    return "\n".join(lines) + "\n"


async def _quiet(coro: Awaitable[Any]) -> None:
    try:
        await coro
    except Exception:
        pass

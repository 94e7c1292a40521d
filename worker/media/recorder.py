"""A video of the browser session, made from Chromium's DevTools screencast.

Playwright's own `record_video_dir` needs an ffmpeg build that
`playwright install ffmpeg` downloads from a CDN (not reachable from every
host), so the frames Chromium pushes (`Page.screencastFrame`, JPEG) are fed
instead to the ffmpeg binary shipped inside the `imageio-ffmpeg` wheel and
encoded to WebM (VP8) as the task runs. Chromium only sends a frame when the
page repaints; a ticker writes the latest frame at a fixed rate so the video
keeps real time. The recorder follows the task's current tab."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from pathlib import Path

from playwright.async_api import CDPSession, Page

from worker.browser.session import BrowserSession

log = logging.getLogger("browserq.media")

FPS = 5
JPEG_QUALITY = 60


def ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        log.warning("no ffmpeg for recordings (%s): install imageio-ffmpeg", exc)
        return None


class ScreencastRecorder:
    def __init__(self, session: BrowserSession, target: Path, width: int, height: int) -> None:
        self.session, self.target = session, target
        self.width, self.height = width - width % 2, height - height % 2  # VP8 wants even sizes
        self._frame: bytes | None = None
        self._frames_written = 0
        self._page: Page | None = None
        self._cdp: CDPSession | None = None
        self._ffmpeg: asyncio.subprocess.Process | None = None
        self._ticker: asyncio.Task | None = None

    async def start(self) -> bool:
        exe = ffmpeg_exe()
        if exe is None:
            return False
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._ffmpeg = await asyncio.create_subprocess_exec(
            exe, "-loglevel", "error", "-y", "-f", "image2pipe", "-c:v", "mjpeg", "-framerate", str(FPS),
            "-i", "pipe:0", "-an", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
            "-b:v", "1M", "-crf", "10", "-threads", "1", "-lag-in-frames", "0", "-auto-alt-ref", "0",
            "-vf", f"scale={self.width}:{self.height},format=yuv420p", str(self.target),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        self._ticker = asyncio.create_task(self._tick())
        return True

    async def _tick(self) -> None:
        while True:
            await self._follow_current_tab()
            if self._frame is not None and self._ffmpeg and self._ffmpeg.stdin:
                try:
                    self._ffmpeg.stdin.write(self._frame)
                    await self._ffmpeg.stdin.drain()
                    self._frames_written += 1
                except (BrokenPipeError, ConnectionResetError):
                    log.warning("the recording's encoder stopped; no more frames recorded")
                    return
            await asyncio.sleep(1 / FPS)

    async def _follow_current_tab(self) -> None:
        page = self.session.current
        if page is None or page is self._page or page.is_closed():
            return
        await self._detach()
        try:
            cdp = await page.context.new_cdp_session(page)
            cdp.on("Page.screencastFrame", lambda event: self._on_frame(cdp, event))
            await cdp.send("Page.startScreencast", {
                "format": "jpeg", "quality": JPEG_QUALITY, "maxWidth": self.width, "maxHeight": self.height,
                "everyNthFrame": 1,
            })
        except Exception as exc:  # a tab closing under us: try again on the next tick
            log.debug("screencast not started: %s", exc)
            return
        self._page, self._cdp = page, cdp

    def _on_frame(self, cdp: CDPSession, event: dict) -> None:
        self._frame = base64.b64decode(event["data"])
        asyncio.ensure_future(_quiet(cdp.send("Page.screencastFrameAck", {"sessionId": event["sessionId"]})))

    async def _detach(self) -> None:
        if self._cdp is not None:
            await _quiet(self._cdp.send("Page.stopScreencast"))
            await _quiet(self._cdp.detach())
        self._cdp = self._page = None

    async def stop(self) -> Path | None:
        """Finish the file; returns it, or None when nothing was recorded."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self._detach()
        proc = self._ffmpeg
        if proc is None:
            return None
        if proc.stdin:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        try:
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            return None
        if proc.returncode != 0 or self._frames_written == 0:
            if self._frames_written:
                log.warning("the recording could not be encoded: %s", err.decode(errors="replace")[-500:])
            return None
        return self.target if self.target.exists() and self.target.stat().st_size > 0 else None


async def _quiet(coro) -> None:  # type: ignore[no-untyped-def]
    try:
        await coro
    except Exception:
        pass

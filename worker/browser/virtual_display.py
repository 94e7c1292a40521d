"""The headful kind's screen: an Xvfb display of this worker process's own, started
before its Chromium and stopped with it. Xvfb picks a free display number itself
(`-displayfd`), so many worker processes on one host never collide; it gets SIGTERM
when the thread that started it (the process's event-loop thread) ends, so a worker
killed outright leaves no display behind."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import sys

log = logging.getLogger("browserq.browser")

PR_SET_PDEATHSIG = 1
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0


class VirtualDisplayError(RuntimeError):
    """Xvfb is missing or did not start."""


def _dies_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class VirtualDisplay:
    """One Xvfb; `name` (e.g. ":3") is what DISPLAY is set to for Chromium."""

    def __init__(self, screen: str) -> None:
        self.screen = screen
        self.name: str | None = None
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> str:
        """Start Xvfb (on the process's event loop) and return its display name."""
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise VirtualDisplayError("the headful browser kind needs Xvfb: install Debian's `xvfb` package")
        read_fd, write_fd = os.pipe()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *[xvfb, "-displayfd", str(write_fd), "-screen", "0", self.screen, "-nolisten", "tcp", "-noreset"],
                pass_fds=(write_fd,),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                preexec_fn=_dies_with_parent,
            )
        finally:
            os.close(write_fd)
        reading = asyncio.ensure_future(asyncio.to_thread(_read_line, read_fd))
        try:
            number = await asyncio.wait_for(asyncio.shield(reading), START_TIMEOUT)
        except TimeoutError:
            await self.stop()  # closes Xvfb's end of the pipe, so the read returns before its fd is closed
            await reading
            number = ""
        finally:
            os.close(read_fd)
        if not number.isdigit():
            await self.stop()
            raise VirtualDisplayError(f"Xvfb did not start a display within {START_TIMEOUT:g} s")
        self.name = f":{number}"
        log.info("virtual display %s started (Xvfb pid %d)", self.name, self._proc.pid)
        return self.name

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
        log.info("virtual display %s stopped", self.name)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None


def _read_line(fd: int) -> str:
    """Xvfb writes the display number and a newline once it accepts clients (empty: it died)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 16)
        if not chunk:
            break
        data += chunk
    return data.decode().strip()

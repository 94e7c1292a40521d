"""The headful kind's Xvfb belongs to its worker process: stopped with it, and gone
when the process is killed outright (no stop ran)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/Xvfb"), reason="needs Debian's xvfb")

HOLDER = """
import asyncio, sys
from worker.browser.virtual_display import VirtualDisplay

async def main():
    display = VirtualDisplay("640x480x24")
    print(await display.start(), display.pid, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(") ")[1][0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.1)
    return False


def test_stop_ends_xvfb_and_a_killed_owner_takes_it_along() -> None:
    import asyncio

    from worker.browser.virtual_display import VirtualDisplay

    async def start_and_stop() -> tuple[str, int]:
        display = VirtualDisplay("640x480x24")
        name = await display.start()
        pid = display.pid
        assert pid is not None
        await display.stop()
        return name, pid

    name, pid = asyncio.run(start_and_stop())
    assert name.startswith(":") and _gone(pid)

    owner = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True, env=os.environ)
    try:
        assert owner.stdout is not None
        name, pid_text = owner.stdout.readline().split()
        os.kill(owner.pid, signal.SIGKILL)  # no stop runs: the kernel's parent-death signal ends Xvfb
        owner.wait(10)
        assert _gone(int(pid_text)), f"Xvfb {pid_text} of display {name} outlived its killed owner"
    finally:
        owner.kill()

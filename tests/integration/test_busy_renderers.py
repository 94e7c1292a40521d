"""Busy renderers run last (worker/browser/busy_renderers.py), on real processes: a
process named a renderer that spins gets nice 19 on its spinning thread and its
priority back once it calms down; a sleeping renderer and a spinning process that is no renderer are left alone.
Then in a real Chromium: a spinning page's renderer is slowed, the renderer of another
context's page is not. The waits are bounded (poll), never asserted on."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil  # type: ignore[import-untyped]
from playwright.async_api import async_playwright

from tests.support.stack import CHROMIUM, poll
from worker.browser.busy_renderers import SLOW_NICE, BusyRenderers

# Spins until the file named by its last argument exists, then sleeps.
SPIN = "import os, sys, time\nwhile not os.path.exists(sys.argv[-1]): pass\ntime.sleep(600)"
SLEEP = "import time\ntime.sleep(600)"
BUSY_PAGE = """<script>
setInterval(() => { const t = performance.now(); while (performance.now() - t < 200) {} }, 0);
</script>"""


def test_a_spinning_renderer_is_slowed_and_gets_its_priority_back_when_calm() -> None:
    calm_flag = Path(tempfile.mkdtemp()) / "calm"
    spinner = subprocess.Popen([sys.executable, "-c", SPIN, "--type=renderer", str(calm_flag)])
    sleeper = subprocess.Popen([sys.executable, "-c", SLEEP, "--type=renderer"])
    other = subprocess.Popen([sys.executable, "-c", SPIN, "--type=utility", str(calm_flag)])  # no renderer
    watch = BusyRenderers()
    watch.start()
    try:
        nice = lambda proc: psutil.Process(proc.pid).nice()  # noqa: E731
        poll("the spinning renderer slowed", lambda: nice(spinner) == SLOW_NICE, timeout=60)
        assert set(watch.slowed) == {spinner.pid} and set(watch.slowed[spinner.pid]) == {spinner.pid}
        assert nice(sleeper) == 0 and nice(other) == 0
        # The sleeping renderer's threads were read at its first two looks only; since then one
        # read of its process's run time a look said it was quiet.
        quiet = watch._seen[sleeper.pid]
        assert quiet.ran is not None and quiet.ran[0] - quiet.at >= 0.5, (quiet.at, quiet.ran)
        calm_flag.touch()
        if os.geteuid() == 0:  # only a privileged worker may raise a priority again
            poll("its priority back", lambda: nice(spinner) == 0, timeout=60)
            assert not watch.slowed
    finally:
        watch.stop()
        for proc in (spinner, sleeper, other):
            proc.kill()
            proc.wait()


def _renderers() -> dict[int, int]:
    """Each live renderer below this process: its nice."""
    found = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if "--type=renderer" in proc.cmdline():
                found[proc.pid] = proc.nice()
        except psutil.Error:
            continue
    return found


async def _a_busy_page_beside_a_quiet_one() -> tuple[set[int], dict[int, int], dict[int, int]]:
    watch = BusyRenderers()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            quiet = await (await browser.new_context()).new_page()  # another task's page
            await quiet.goto("data:text/html,<p>quiet</p>")
            busy_context = await browser.new_context()
            await (await busy_context.new_page()).set_content(BUSY_PAGE)
            watch.start()
            await asyncio.to_thread(poll, "a renderer slowed", lambda: bool(watch.slowed), 60)
            slowed, while_busy = set(watch.slowed), _renderers()
            await busy_context.close()  # its renderer exits; the quiet context's stays
            await asyncio.to_thread(poll, "its renderer gone", lambda: not slowed & _renderers().keys(), 60)
            return slowed, while_busy, _renderers()
        finally:
            watch.stop()
            await browser.close()


def test_a_busy_pages_renderer_is_slowed_and_another_contexts_is_not() -> None:
    slowed, while_busy, after = asyncio.run(_a_busy_page_beside_a_quiet_one())
    assert len(slowed) == 1 and all(while_busy[pid] == SLOW_NICE for pid in slowed), (slowed, while_busy)
    assert after and not slowed & after.keys(), after  # the slowed one was the busy context's
    # The quiet context's kept its priority (Chromium itself gives some renderers nice 5).
    assert all(nice != SLOW_NICE for nice in after.values()), after

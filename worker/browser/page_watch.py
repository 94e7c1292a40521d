"""A watch on one task's pages, so a runaway page cannot take the shared
Chromium from the worker's other tasks.

Every `interval` seconds each tab is sampled over DevTools: `Runtime.getHeapUsage`
(its JavaScript heap, ArrayBuffer backing stores and DOM memory) and
`Performance.getMetrics` (how busy its main thread was, and the CPU time of its
renderer process). A page past the memory limit is closed at once and the task
ends. A page whose main thread stays busy is slowed down: its renderer process
(found by its CPU time, which the OS and DevTools both report) gets the lowest
CPU priority (nice 19), so every other task's renderer runs first; still busy
`busy_seconds` later, it is closed and the task ends. A page that stops
answering at all (a script that never yields) is closed, and the task ends when
a second one does. Chromium never shares a renderer process between browser
contexts, so a slowed process holds only this task's pages."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from types import TracebackType

import psutil  # type: ignore[import-untyped]
from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError

from worker.browser.session import BrowserSession

log = logging.getLogger("browserq.browser")
BUSY_SHARE = 0.8  # a page whose main thread is busy this share of a sample is busy
BUSY_SAMPLES_TO_SLOW = 2  # that many busy samples in a row: slowed down
SLOW_NICE = 19  # the renderer of a busy page runs only when nothing else wants the processor
PROCESS_MATCH_SECONDS = 0.1  # how far the OS's and DevTools' CPU times of one process may differ
UNANSWERED_TO_CLOSE = 3  # a page that does not answer this many samples in a row is closed
HUNG_PAGES_TO_END = 2  # the task ends when this many of its pages had to be closed for hanging
# A renderer not told apart by its CPU time (tasks doing the same work have renderers whose
# times stay close) is looked for again after a wait that doubles up to this: each look reads
# every child process of the worker, which every second for every page was a tenth of the
# worker's Python time on the density bench.
LOOKUP_MAX_WAIT_SECONDS = 30.0


@dataclass
class PageLimits:
    memory_bytes: int  # a page's JavaScript heap (0: no limit)
    busy_seconds: float  # how long a slowed page may stay busy (0: no limit)
    interval: float = 1.0


@dataclass
class _Sample:
    busy: float = 0.0  # cumulative main-thread busy seconds (TaskDuration)
    at: float = 0.0
    busy_run: int = 0
    slowed_at: float | None = None
    unanswered: int = 0
    pid: int | None = None  # its renderer process, once told apart from the others by its CPU time
    lookups: int = 0  # looks for it that found none
    next_lookup: float = 0.0  # when to look again


@dataclass
class PageWatch:
    session: BrowserSession
    limits: PageLimits
    ended: str | None = None  # why the task must end; the agent loop reads it before each step
    _sessions: weakref.WeakKeyDictionary[Page, CDPSession] = field(default_factory=weakref.WeakKeyDictionary)
    _samples: weakref.WeakKeyDictionary[Page, _Sample] = field(default_factory=weakref.WeakKeyDictionary)
    _hung: int = 0
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PageWatch:
        if self.limits.memory_bytes or self.limits.busy_seconds:
            self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while self.ended is None:
            await asyncio.sleep(self.limits.interval)
            pages = [p for p in self.session.open_pages() if not p.is_closed()]
            await asyncio.gather(*(self._check(p) for p in pages), return_exceptions=True)

    async def _check(self, page: Page) -> None:
        sample = self._samples.setdefault(page, _Sample())
        try:
            metrics = await asyncio.wait_for(self._metrics(page), self.limits.interval * 2)
        except TimeoutError:
            sample.unanswered += 1
            if sample.slowed_at is None:  # a page too busy to answer is busy
                sample.slowed_at = asyncio.get_running_loop().time()
                await self._slow(page, sample)
            if sample.unanswered >= UNANSWERED_TO_CLOSE:
                self._hung += 1
                await self._close(page, "stopped answering (a script that never yields)")
                if self._hung >= HUNG_PAGES_TO_END:
                    self._end(f"{self._hung} of its pages stopped answering and had to be closed")
            return
        except PlaywrightError:
            return  # navigating or closed: the next sample reads the new document
        sample.unanswered = 0
        now, busy = asyncio.get_running_loop().time(), metrics.get("TaskDuration", 0.0)
        if sample.pid is None and now >= sample.next_lookup and (cpu := metrics.get("ProcessTime")):
            sample.pid = await asyncio.to_thread(_renderer_by_cpu_time, cpu)
            if sample.pid is None:
                sample.lookups += 1
                sample.next_lookup = now + lookup_wait(sample.lookups, self.limits.interval)
        heap = metrics.get("memory", 0.0)
        if self.limits.memory_bytes and heap > self.limits.memory_bytes:
            mb = self.limits.memory_bytes / 2**20
            await self._close(page, f"used {heap / 2**20:.0f} MB of memory (the limit is {mb:g} MB a page)")
            self._end(f"a page used more memory than a page may ({mb:g} MB)")
            return
        if sample.at and now > sample.at:
            share = (busy - sample.busy) / (now - sample.at)
            sample.busy_run = sample.busy_run + 1 if share >= BUSY_SHARE else 0
        sample.busy, sample.at = busy, now
        if not self.limits.busy_seconds:
            return
        if sample.busy_run == 0:
            sample.slowed_at = None
        elif sample.busy_run >= BUSY_SAMPLES_TO_SLOW and sample.slowed_at is None:
            sample.slowed_at = now
            await self._slow(page, sample)
        elif sample.slowed_at is not None and now - sample.slowed_at >= self.limits.busy_seconds:
            limit = self.limits.busy_seconds
            await self._close(page, f"kept the processor busy for over {limit:g} s after it was slowed down")
            self._end(f"a page kept the processor busy for over {limit:g} s")

    async def _metrics(self, page: Page) -> dict[str, float]:
        cdp = self._sessions.get(page)
        if cdp is None:
            cdp = await page.context.new_cdp_session(page)
            await cdp.send("Performance.enable")
            self._sessions[page] = cdp
        answer = await cdp.send("Performance.getMetrics")
        metrics = {m["name"]: float(m["value"]) for m in answer.get("metrics", [])}
        heap = await cdp.send("Runtime.getHeapUsage")
        metrics["memory"] = sum(
            float(heap.get(k, 0)) for k in ("usedSize", "embedderHeapUsedSize", "backingStorageSize")
        )
        return metrics

    async def _slow(self, page: Page, sample: _Sample) -> None:
        pid = await asyncio.to_thread(_lower, sample.pid) if sample.pid else None
        how = "its process now runs only when others do not need the processor" if pid else "it could not be slowed"
        log.warning("a busy page %s: %s (pid %s)", page.url, how, pid)
        self.session.events.add(
            f"The page {page.url} kept the processor busy: {how}. "
            f"If it stays busy for {self.limits.busy_seconds:g} s it is closed and the task ends."
        )

    async def _close(self, page: Page, why: str) -> None:
        url = page.url
        log.warning("closing a runaway page %s: it %s", url, why)
        self.session.events.add(f"The page {url} {why}: it was closed.")
        try:
            await asyncio.wait_for(page.close(run_before_unload=False), 5)
        except (PlaywrightError, TimeoutError) as exc:
            log.warning("closing the runaway page %s: %s", url, exc)

    def _end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason


def lookup_wait(failed: int, interval: float) -> float:
    """Seconds until the next look for a page's renderer after `failed` looks found none."""
    return float(min(interval * 2 ** min(failed - 1, 30), LOOKUP_MAX_WAIT_SECONDS))


def _renderer_by_cpu_time(cpu_seconds: float) -> int | None:
    """The renderer process of this worker's Chromium whose CPU time is `cpu_seconds` (what
    DevTools said of a page's process), when exactly one is that close; else None (never a
    guess: a wrong one would slow another task's page)."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "--type=renderer" not in proc.cmdline():
                continue
            times = proc.cpu_times()
            if abs(times.user + times.system - cpu_seconds) <= PROCESS_MATCH_SECONDS:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found[0] if len(found) == 1 else None


def _lower(pid: int) -> int | None:
    """The lowest CPU priority for the process; its pid, or None if it is gone."""
    try:
        psutil.Process(pid).nice(SLOW_NICE)
    except psutil.Error:
        return None
    return pid

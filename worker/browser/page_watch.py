"""A watch on one task's pages, so a runaway page cannot take the shared
Chromium from the worker's other tasks.

Every `interval` seconds each tab is sampled over DevTools: `Runtime.getHeapUsage`
(its JavaScript heap, ArrayBuffer backing stores and DOM memory) and
`Performance.getMetrics` (how busy its main thread was, and the CPU time of its
renderer process). A page past the memory limit is closed at once and the task
ends. A page whose main thread stays busy is named to the model; still busy
`busy_seconds` later, it is closed and the task ends. A page that stops
answering at all (a script that never yields) is closed, and the task ends when
a second one does. Slowing a busy page is not this watch's job: the worker's
OS-side reading (worker/browser/busy_renderers.py) gives a spinning renderer thread
the lowest priority within a second, by its own scheduling figures. (This watch
once reniced the renderer whose CPU time matched the one DevTools reported; two
renderers can match, and a wrong match would slow another task's page.)"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from types import TracebackType

from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError

from worker.browser.session import BrowserSession

log = logging.getLogger("browserq.browser")
BUSY_SHARE = 0.8  # a page whose main thread is busy this share of a sample is busy
BUSY_SAMPLES_TO_TELL = 2  # that many busy samples in a row: the model is told
UNANSWERED_TO_CLOSE = 3  # a page that does not answer this many samples in a row is closed
HUNG_PAGES_TO_END = 2  # the task ends when this many of its pages had to be closed for hanging


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
    busy_since: float | None = None
    unanswered: int = 0


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
            if sample.busy_since is None:  # a page too busy to answer is busy
                sample.busy_since = asyncio.get_running_loop().time()
                self._tell_busy(page)
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
            sample.busy_since = None
        elif sample.busy_run >= BUSY_SAMPLES_TO_TELL and sample.busy_since is None:
            sample.busy_since = now
            self._tell_busy(page)
        elif sample.busy_since is not None and now - sample.busy_since >= self.limits.busy_seconds:
            limit = self.limits.busy_seconds
            await self._close(page, f"kept the processor busy for over {limit:g} s")
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

    def _tell_busy(self, page: Page) -> None:
        log.warning("a busy page %s", page.url)
        self.session.events.add(
            f"The page {page.url} keeps the processor busy. "
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

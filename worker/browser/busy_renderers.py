"""Busy renderers run last. One thread per worker process reads, four times a second,
how each thread of each renderer process of its Chromium (the pages of every task the
process hosts) wants the processor, and gives a thread that spins (a page's script that
never lets it idle) the lowest CPU priority (nice 19): the other tasks' pages, the
browser and the worker then run first, within about a second of a page starting to
spin, whether or not the page answers DevTools. A slowed renderer that calms down gets
its threads' priorities back (where the worker may raise a priority: as root or with
CAP_SYS_NICE; elsewhere they stay slowed until the process exits). Linux priorities are
a thread's, so the thread is what is slowed (for a page's script, the renderer's main
thread, the process's first).

Spinning: the thread was running or waiting to run for BUSY_SHARE of every sample over
WINDOW_SECONDS on end, and went to sleep by itself fewer than SLEEPS_A_SECOND times a
second. A renderer that loads or draws a page on a loaded host can want a processor as
long, but it mostly waits on the browser between its tasks many times a second, so it
is left alone. Measured on the shared 2-core host under load 4-7: spinning pages slept 0
to 8 times a second over their first second; pages loading beside them 18 to 39 (once 9,
and that renderer was slowed for 1.3 s). Under heavy load (16) a renderer starting up
can want a processor for a second without sleeping and be slowed until it calms down.

A renderer whose threads together ran for under QUIET_SHARE of a processor since its
last look (one read of /proc/<pid>/stat) has no thread read: most renderers idle between
steps, and reading every thread of every renderer four times a second was 7% of the
worker's Python on the density bench. A spinning thread runs for more than that even on
a host loaded 8 times over, so it is read at the next look.

Calm: its threads together ran or waited to run for under CALM_SHARE of a processor over
the window (a slowed thread that still spins waits rather than runs, so its run time
alone would call it calm). Read from /proc/<pid>/task/<tid>/schedstat and status (Linux;
elsewhere the thread does not start).

This is the browser's own scheduling, for every task alike. Each task's page watch
(worker/browser/page_watch.py) still judges its pages over DevTools, tells the model,
and closes a page that stays busy or stops answering. Chromium never puts two browser
contexts in one renderer process, so a slowed renderer holds one task's pages only."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger("browserq.browser")
SAMPLE_SECONDS = 0.25
WINDOW_SECONDS = 1.0  # busy or calm over this long
BUSY_SHARE = 0.9  # a thread wanted a processor (ran or waited to run) this share of the window...
SLEEPS_A_SECOND = 10  # ...and slept of its own accord fewer times than this a second: slowed
CALM_SHARE = 0.3  # its threads together wanted under this share of a processor: its priority back
SLOW_NICE = 19
FULL_SCAN_SECONDS = 2.0
QUIET_SHARE = 0.08  # a renderer that ran for under this share of a processor since its last look: not read
TICK_NS = 1e9 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 1e7


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def children(pid: int) -> list[int]:
    """The processes the process's threads started (/proc/<pid>/task/<tid>/children)."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    return [int(child) for tid in threads for child in (_read(f"/proc/{pid}/task/{tid}/children") or "").split()]


def descendants(pid: int) -> list[int]:
    """The processes below `pid` (cheaper than walking every process of the host)."""
    found, todo = [], [pid]
    while todo:
        below = children(todo.pop())
        found += below
        todo += below
    return found


def _type(pid: int) -> str | None:
    """A Chromium child's `--type` (renderer, zygote, gpu-process, ...). Chromium rewrites its
    children's titles, so their arguments may be one string."""
    for argument in (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ").split():
        if argument.startswith("--type="):
            return argument.removeprefix("--type=")
    return None


def wanted(pid: int) -> dict[int, int] | None:
    """For each thread of the process, the nanoseconds it ran or waited to run; None when
    the process is gone."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    times = {}
    for tid in threads:
        fields = (_read(f"/proc/{pid}/task/{tid}/schedstat") or "").split()
        if len(fields) >= 2:
            times[int(tid)] = int(fields[0]) + int(fields[1])
    return times


def ran(pid: int) -> float | None:
    """The nanoseconds all the process's threads ran (user and system); None when it is gone."""
    stat = (_read(f"/proc/{pid}/stat") or "").rpartition(")")[2].split()
    return (int(stat[11]) + int(stat[12])) * TICK_NS if len(stat) > 12 else None


def sleeps(pid: int, tid: int) -> int | None:
    """How many times the thread went to sleep of its own accord; None when it is gone."""
    status = (_read(f"/proc/{pid}/task/{tid}/status") or "").partition("\nvoluntary_ctxt_switches:")[2]
    return int(status.split()[0]) if status else None


@dataclass
class _Renderer:
    at: float  # the last sample
    wanted: dict[int, int]  # each thread's wanted nanoseconds then
    # Threads that wanted a processor BUSY_SHARE of every interval since `since`: (since, and
    # when their sleeps were first counted, that count).
    hot: dict[int, tuple[float, float, int]] = field(default_factory=dict)
    totals: deque[tuple[float, int]] = field(default_factory=deque)  # (time, all threads' wanted), over the window
    ran: tuple[float, float] | None = None  # (time, all threads' run nanoseconds) at the last look


@dataclass
class BusyRenderers:
    root: int = field(default_factory=os.getpid)  # whose descendant renderers are watched
    slowed: dict[int, dict[int, int]] = field(default_factory=dict)  # pid -> its slowed threads: their nice before
    _renderer: dict[int, bool] = field(default_factory=dict)  # pid -> is it a renderer (read once)
    _seen: dict[int, _Renderer] = field(default_factory=dict)
    _stuck: set[int] = field(default_factory=set)  # slowed renderers whose priority may not be raised
    _zygotes: list[int] = field(default_factory=list)
    _scanned: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @staticmethod
    def available() -> bool:
        return os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/schedstat")

    def start(self) -> None:
        if self._thread is None and self.available():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="bq-busy-renderers", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            try:
                self.sample()
            except Exception:  # never let a read of /proc end the thread
                log.exception("reading the renderers' processor use")

    def renderers(self) -> list[int]:
        """The renderers below `root`: Chromium forks them from its zygotes, whose children are
        read each time; every process below `root` only every FULL_SCAN_SECONDS (a new browser)."""
        now = time.monotonic()
        if not self._zygotes or now - self._scanned >= FULL_SCAN_SECONDS:
            seen, self._scanned = descendants(self.root), now
            self._zygotes = [pid for pid in seen if _type(pid) == "zygote"]
        else:  # and the renderers found outside a zygote by the last full scan, while they live
            seen = [pid for zygote in self._zygotes for pid in children(zygote)]
            seen += [
                pid
                for pid, renderer in self._renderer.items()
                if renderer and pid not in seen and os.path.exists(f"/proc/{pid}")
            ]
        for pid in seen:
            if pid not in self._renderer:
                self._renderer[pid] = _type(pid) == "renderer"
        alive = set(seen)
        for gone in [pid for pid in self._renderer if pid not in alive]:  # a pid seen again is read again
            self._renderer.pop(gone, None)
            self._seen.pop(gone, None)
            self.slowed.pop(gone, None)
            self._stuck.discard(gone)
        return [pid for pid in seen if self._renderer.get(pid)]

    def sample(self) -> None:
        """One look at every renderer: slow the spinning ones, raise the calm slowed ones."""
        now = time.monotonic()
        for pid in self.renderers():
            known = self._seen.get(pid)
            if known is not None and pid not in self.slowed and not known.hot and self._quiet(pid, known, now):
                continue
            times = wanted(pid)
            if times is None:
                continue
            if known is None:
                self._seen[pid] = _Renderer(now, times, totals=deque([(now, sum(times.values()))]))
                continue
            interval = now - known.at
            if interval <= 0:
                continue
            for tid, ns in times.items():
                if tid in known.wanted and (ns - known.wanted[tid]) / interval / 1e9 >= BUSY_SHARE:
                    if tid not in known.hot and (slept := sleeps(pid, tid)) is not None:
                        known.hot[tid] = (known.at, now, slept)
                else:
                    known.hot.pop(tid, None)
            known.at, known.wanted = now, times
            known.totals.append((now, sum(times.values())))
            while len(known.totals) > 2 and now - known.totals[1][0] >= WINDOW_SECONDS:
                known.totals.popleft()
            at, total = known.totals[0]
            calm = now - at >= WINDOW_SECONDS * 0.9 and (known.totals[-1][1] - total) / (now - at) / 1e9 < CALM_SHARE
            if pid in self.slowed and calm and pid not in self._stuck:
                self._restore(pid)
            elif not calm:
                self._slow_spinning(pid, known, now)

    @staticmethod
    def _quiet(pid: int, known: _Renderer, now: float) -> bool:
        """Its threads together ran under QUIET_SHARE of a processor since the last look."""
        total, last = ran(pid), known.ran
        known.ran = (now, total) if total is not None else None
        return (
            total is not None and last is not None and (total - last[1]) / max(now - last[0], 1e-3) / 1e9 < QUIET_SHARE
        )

    def _slow_spinning(self, pid: int, known: _Renderer, now: float) -> None:
        """Nice 19 for each thread that wanted a processor for WINDOW_SECONDS on end without
        sleeping (again, if Chromium has set its priority since)."""
        slowed = self.slowed.get(pid, {})
        for tid, (since, counted_at, slept) in known.hot.items():
            if now - since < WINDOW_SECONDS * 0.9 or now <= counted_at:
                continue
            if tid in slowed and _nice(tid) == SLOW_NICE:
                continue
            rate = ((sleeps(pid, tid) or slept) - slept) / (now - counted_at)
            if rate >= SLEEPS_A_SECOND or (before := _nice(tid)) is None:
                continue
            try:
                os.setpriority(os.PRIO_PROCESS, tid, SLOW_NICE)
            except OSError:
                continue
            if tid not in slowed:
                slowed[tid] = before
                log.info(
                    "a renderer (pid %s) kept a processor busy (a thread wanted one for %.1f s on end and slept "
                    "%.0f times a second): that thread now runs at the lowest priority",
                    *(pid, now - since, rate),
                )
            self.slowed[pid] = slowed

    def _restore(self, pid: int) -> None:
        for tid, before in list(self.slowed.get(pid, {}).items()):
            try:
                os.setpriority(os.PRIO_PROCESS, tid, before)
            except ProcessLookupError:
                pass
            except PermissionError:
                self._stuck.add(pid)  # may lower a priority, may not raise it: it stays slowed
                return
            self.slowed[pid].pop(tid, None)
        self.slowed.pop(pid, None)
        log.info("a slowed renderer (pid %s) calmed down: its priority is back", pid)


def _nice(tid: int) -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, tid)
    except OSError:
        return None

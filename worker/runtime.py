"""Per-process state of a worker: one asyncio loop, in a thread of its own, and
one warm Chromium, shared by every task the process hosts (many at once: an
agent mostly waits for its model). Created lazily in the pool child (never
before fork) and closed when the child exits.

The Celery task body (worker.tasks) only hands a task to this loop and waits
until it is claimed; the loop runs it to its end while the body returns and
the pool child takes the next message. `slots` bounds how many tasks the
process runs at once: a body waits for a free slot before it hands its task
over, so the broker's messages stay unacknowledged (and go to another worker
if this one dies) until a slot takes them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from shared.settings import get_settings
from worker.browser.egress import Egress, fixed_resolver
from worker.browser.pool import BrowserPool

log = logging.getLogger("browserq.worker")
T = TypeVar("T")

# Tasks one process runs at once; `browserq worker` sets it before the pool forks.
TASKS_PER_PROCESS = 1
# The kind of browser this worker serves (`browserq worker --browser-kind`); None: the settings' default.
BROWSER_KIND: str | None = None
CANCEL_TIMEOUT = 5.0
CLOSE_TIMEOUT = 10.0

_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pool: BrowserPool | None = None
_egress: Egress | None = None
_slots: threading.BoundedSemaphore | None = None
_lock = threading.Lock()


def loop() -> asyncio.AbstractEventLoop:
    """This process's loop, running in its own thread (started on first use)."""
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            # asyncio.to_thread's executor: the tasks' database and storage calls.
            _loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(4 * TASKS_PER_PROCESS + 4, "bq-io"))
            _thread = threading.Thread(target=_loop.run_forever, name="bq-loop", daemon=True)
            _thread.start()
        return _loop


def current_loop() -> asyncio.AbstractEventLoop | None:
    """This process's loop if it made one (for diagnostics: never creates it)."""
    return _loop


def pool() -> BrowserPool:
    global _pool
    if _pool is None:
        _pool = BrowserPool(get_settings(), BROWSER_KIND)
    return _pool


def egress() -> Egress:
    """This process's egress proxy; its gates listen on the loop that opens them."""
    global _egress
    if _egress is None:
        dns = get_settings().test_dns
        _egress = Egress(fixed_resolver(dns) if dns else None)
    return _egress


def submit(work: Awaitable[T]) -> concurrent.futures.Future[T]:
    """Run `work` on this process's loop; the future is its result."""
    return asyncio.run_coroutine_threadsafe(_awaited(work), loop())


async def _awaited(work: Awaitable[T]) -> T:
    return await work


def run(coro: Awaitable[T]) -> T:
    """Run `coro` on this process's loop and wait for it (from any thread but the loop's)."""
    return submit(coro).result()


class Slot:
    """One of this process's TASKS_PER_PROCESS places for a running task."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release = release
        self.handed = False

    def hand_to(self, running: concurrent.futures.Future[Any]) -> None:
        """The slot is the task's now: free it when `running` is done."""
        self.handed = True
        running.add_done_callback(lambda _f: self._release())


def _the_slots() -> threading.BoundedSemaphore:
    global _slots
    with _lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(TASKS_PER_PROCESS)
        return _slots


@contextlib.contextmanager
def slot() -> Iterator[Slot]:
    """Wait for a free slot; freed on leaving the block unless handed to a running task."""
    slots = _the_slots()
    slots.acquire()
    taken = Slot(slots.release)
    try:
        yield taken
    finally:
        if not taken.handed:
            slots.release()


def wait_while_full() -> None:
    """Return once this process has a free slot (without taking it). A body that filled
    the last slot waits here, so Celery counts the process busy and gives its next
    message to a process with room, instead of to one where it would wait."""
    slots = _the_slots()
    slots.acquire()
    slots.release()


def shutdown(before_close: Callable[[], None] | None = None) -> None:
    """Stop every task of this process (each within CANCEL_TIMEOUT), call `before_close`
    (hand their leases back), then close Chromium so no browser outlives its process."""
    global _pool, _loop, _thread, _egress
    running_loop = _loop
    if running_loop is not None and not running_loop.is_closed():
        try:
            asyncio.run_coroutine_threadsafe(_cancel_all(), running_loop).result(CANCEL_TIMEOUT + 1)
        except Exception as exc:
            log.warning("stopping the tasks: %s", exc)
    if before_close is not None:
        before_close()
    if _pool is not None and running_loop is not None and not running_loop.is_closed():
        try:
            asyncio.run_coroutine_threadsafe(_pool.close(), running_loop).result(CLOSE_TIMEOUT)
        except Exception as exc:
            log.warning("closing the browser: %s", exc)
    _pool = _egress = None
    if running_loop is not None and not running_loop.is_closed():
        running_loop.call_soon_threadsafe(running_loop.stop)
        if _thread is not None:
            _thread.join(5)
        if not running_loop.is_running():
            running_loop.close()
    _loop, _thread = None, None


async def _cancel_all() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=CANCEL_TIMEOUT)

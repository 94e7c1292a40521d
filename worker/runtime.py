"""Per-process state of a worker: one asyncio loop and one warm Chromium,
created lazily in the pool child (never before fork) and closed when the
child exits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from shared.settings import get_settings
from worker.browser.egress import Egress, fixed_resolver
from worker.browser.pool import BrowserPool

log = logging.getLogger("browserq.worker")
T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_pool: BrowserPool | None = None
_egress: Egress | None = None


def loop() -> asyncio.AbstractEventLoop:
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop


def current_loop() -> asyncio.AbstractEventLoop | None:
    """This process's loop if it made one (for diagnostics: never creates it)."""
    return _loop


def pool() -> BrowserPool:
    global _pool
    if _pool is None:
        _pool = BrowserPool(get_settings())
    return _pool


def egress() -> Egress:
    """This process's egress proxy; its gates listen on the loop that opens them."""
    global _egress
    if _egress is None:
        dns = get_settings().test_dns
        _egress = Egress(fixed_resolver(dns) if dns else None)
    return _egress


def run(coro: Coroutine[Any, Any, T]) -> T:
    return loop().run_until_complete(coro)


def shutdown() -> None:
    """Close Chromium so no browser outlives its worker process."""
    global _pool, _loop
    if _pool is not None and _loop is not None and not _loop.is_closed():
        try:
            _loop.run_until_complete(asyncio.wait_for(_pool.close(), 10))
        except Exception as exc:
            log.warning("closing the browser: %s", exc)
    _pool = None
    if _loop is not None and not _loop.is_closed():
        _loop.close()
    _loop = None

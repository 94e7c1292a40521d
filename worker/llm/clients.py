"""One SDK client per endpoint, key and event loop, kept for the process.

Building an `AsyncOpenAI` or `AsyncAnthropic` client (an httpx pool with its
SSL context) costs 10-300 ms, and a new one opens new connections: a worker
that built one per task paid both on every task's first step. The clients
hold connections bound to the event loop they ran in, so they are kept per
loop (the worker has one loop per process: worker/runtime.py)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

C = TypeVar("C")

_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


def shared_client(factory: Callable[..., C], **options: Any) -> C:
    """`factory(**options)`, or the one this loop already made with the same options.
    Outside a running loop a new client is made each time (nothing to bind it to)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return factory(**options)
    clients = _BY_LOOP.setdefault(loop, {})
    key = (factory, tuple(sorted(options.items())))
    client = clients.get(key)
    if client is None:
        client = clients[key] = factory(**options)
    return client

"""`kill -USR2 <pool child pid>` writes what each of the child's asyncio tasks is
waiting on to its stderr (the worker's log): the await chain, innermost last. For a
task that looks stuck, this shows where, without stopping or slowing the worker."""

from __future__ import annotations

import asyncio
import signal
import sys
from types import FrameType

from worker import runtime


def describe_tasks(loop: asyncio.AbstractEventLoop | None) -> str:
    if loop is None or loop.is_closed():
        return "no event loop in this process\n"
    lines = []
    for task in asyncio.all_tasks(loop):
        lines.append(f"asyncio task {task.get_name()}:")
        awaited: object = task.get_coro()
        while awaited is not None:
            frame: FrameType | None = next(
                (f for f in (getattr(awaited, a, None) for a in ("cr_frame", "gi_frame", "ag_frame")) if f), None
            )
            if frame is None:
                break  # the iterator of a future: the future itself is named below
            lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
            awaited = next(
                (a for a in (getattr(awaited, n, None) for n in ("cr_await", "gi_yieldfrom", "ag_await")) if a), None
            )
        waiter = getattr(task, "_fut_waiter", None)  # what the task is suspended on (CPython keeps it here)
        if waiter is not None:
            lines.append(f"  waiting on {waiter!r:.300}")
    return "\n".join(lines) + "\n"


def _dump(_signum: int, _frame: FrameType | None) -> None:
    sys.stderr.write(describe_tasks(runtime.current_loop()))
    sys.stderr.flush()


def install() -> None:
    signal.signal(signal.SIGUSR2, _dump)

"""The SIGUSR2 dump of a worker's asyncio tasks names where each one waits."""

from __future__ import annotations

import asyncio
import os
import signal

from worker import diagnostics, runtime


async def _inner(gate: asyncio.Event) -> None:
    await gate.wait()


async def _outer(gate: asyncio.Event) -> None:
    await _inner(gate)


def test_the_dump_shows_each_task_down_to_what_it_awaits() -> None:
    async def main() -> str:
        gate = asyncio.Event()
        waiting = asyncio.create_task(_outer(gate), name="stuck-task")
        await asyncio.sleep(0)
        text = diagnostics.describe_tasks(asyncio.get_running_loop())
        gate.set()
        await waiting
        return text

    text = asyncio.new_event_loop().run_until_complete(main())
    block = text[text.index("asyncio task stuck-task:") :]
    lines = block.splitlines()
    assert " in _outer" in lines[1] and " in _inner" in lines[2], text
    assert "in wait" in lines[3] and "waiting on <Future pending" in lines[4], text


def test_sigusr2_writes_the_dump_to_stderr(capfd) -> None:
    previous = signal.getsignal(signal.SIGUSR2)
    try:
        diagnostics.install()

        async def wait_for_the_signal() -> None:  # on the worker's loop, in its own thread
            gate = asyncio.Event()
            loop = asyncio.get_running_loop()
            loop.call_soon(os.kill, os.getpid(), signal.SIGUSR2)
            loop.call_later(0.2, gate.set)
            await _inner(gate)

        runtime.run(wait_for_the_signal())
    finally:
        signal.signal(signal.SIGUSR2, previous)
        runtime.shutdown()
    err = capfd.readouterr().err
    assert "asyncio task" in err and " in _inner" in err, err

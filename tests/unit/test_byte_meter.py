"""The gate's byte meter: no byte passes past a grant until the next one, a chunk
larger than what is left passes in part, and released it meters nothing."""

from __future__ import annotations

import asyncio

from worker.browser.egress import ByteMeter


def test_bytes_wait_past_a_grant_and_pass_in_part() -> None:
    async def scenario() -> None:
        meter = ByteMeter()
        assert await meter.take(1_000_000) == 1_000_000  # not metering: everything passes
        meter.grant(100)
        assert await meter.take(60) == 60
        assert await meter.take(60) == 40  # only what is left of the grant
        waiting = asyncio.ensure_future(meter.take(10))
        await asyncio.sleep(0.01)
        assert not waiting.done() and meter.spent.is_set()
        meter.grant(5)
        assert await waiting == 5 and not meter.spent.is_set()
        blocked = asyncio.ensure_future(meter.take(10))
        await asyncio.sleep(0.01)
        assert not blocked.done()
        meter.release()
        assert await blocked == 10

    asyncio.run(scenario())

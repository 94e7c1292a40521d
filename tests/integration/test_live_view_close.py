"""Leaving the live view (every task does, at its end) against a real Redis, at
random moments of its look-up loop. redis-py's asyncio client can swallow a cancel
that lands mid-command; a live view that ended by cancelling its loop then never
finished leaving, and the task's worker slot waited on it for good."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid

import pytest

from shared.live_bus import RedisLiveBus
from shared.settings import Settings
from shared.task_store import Lease
from tests.support.stack import REDIS_URL
from worker.agent.control import TaskControl
from worker.live_view import LiveView

ROUNDS = 200


def test_leaving_never_waits_on_the_redis_loop(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(broker_url=f"{REDIS_URL}/0")

    async def one(task_id: str) -> float:
        control = TaskControl(Lease(task_id, 1, "test-worker"), settings)
        live = LiveView(task_id, None, control, settings, bus=RedisLiveBus(settings.resolved_broker_url))  # type: ignore[arg-type]
        async with live:
            await asyncio.sleep(random.random() * 0.01)  # in or between the loop's Redis look-ups
            started = time.monotonic()
        took = time.monotonic() - started
        assert live._runner is not None and live._runner.done()
        return took

    async def rounds() -> list[float]:
        return [await one(f"close-{uuid.uuid4().hex[:8]}") for _ in range(ROUNDS)]

    with caplog.at_level(logging.WARNING, logger="browserq.live"):
        took = asyncio.run(rounds())
    assert not [r.message for r in caplog.records if "closing the live view" in r.message]
    assert max(took) < 2.0, sorted(took)[-5:]

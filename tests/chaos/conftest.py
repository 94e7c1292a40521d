"""Stacks for the chaos tests: each test gets its own browserq (so a killed
worker or broker never leaks into another test), and on PostgreSQL its own
private redis-server, so stopping the broker touches nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.chaos.helpers import wait_workers_ready
from tests.support.redis_server import RedisServer
from tests.support.scripted_model import ScriptedModelServer
from tests.support.stack import Stack

StackFactory = Callable[..., Stack]


@pytest.fixture
def make_stack(model: ScriptedModelServer) -> Iterator[StackFactory]:
    """`make_stack(kind, workers=2, concurrency=1, env={...}, start=True)`; all are stopped at the end."""
    made: list[tuple[Stack, RedisServer | None]] = []

    def make(
        kind: str, workers: int = 2, concurrency: int = 1, env: dict[str, str] | None = None, start: bool = True
    ) -> Stack:
        broker = RedisServer().start() if kind == "postgres" else None
        extra = dict(env or {})
        if broker is not None:
            extra.setdefault("BROWSERQ_BROKER_URL", broker.url)
        stack = Stack(
            kind=kind, model_base_url=model.base_url, env_extra=extra, workers=workers, concurrency=concurrency
        )
        stack.broker = broker  # type: ignore[attr-defined]
        made.append((stack, broker))
        if not start:
            return stack
        stack.start()
        wait_workers_ready(stack)
        return stack

    yield make
    for stack, broker in reversed(made):
        try:
            stack.stop()
        finally:
            if broker is not None:
                broker.stop()

"""One reader of the database for the control of every task an event loop runs:
each round renews the leases whose heartbeat is due (one UPDATE) and reads the
status of all of them (one SELECT), then hands each task's status to its
TaskControl. A process hosts many running tasks on one loop; one read per round
for all of them, instead of one each, keeps the control checks cheap while a
stop or pause still reaches every task within a round (control_poll_seconds)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared import task_store
from shared.db import session_scope
from shared.models import TaskStatus
from shared.settings import Settings
from shared.task_store import Lease

log = logging.getLogger("browserq.worker")


@dataclass
class _Member:
    settings: Settings
    deliver: Callable[[TaskStatus | None], None]
    last_beat: float = 0.0  # monotonic; 0: renew at the first round


class StatusPoll:
    """The rounds of one event loop; it runs while some task is watched."""

    def __init__(self) -> None:
        self._members: dict[Lease, _Member] = {}
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    def join(self, lease: Lease, settings: Settings, deliver: Callable[[TaskStatus | None], None]) -> None:
        """Watch `lease` from the next round (started now) on; `deliver` gets each status read."""
        self._members[lease] = _Member(settings, deliver)
        self._wake.set()
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._rounds(), name="browserq-status-poll")

    def leave(self, lease: Lease) -> None:
        self._members.pop(lease, None)

    async def _rounds(self) -> None:
        while self._members:
            self._wake.clear()
            now = time.monotonic()
            members = dict(self._members)
            due = [lease for lease, m in members.items() if now - m.last_beat >= m.settings.heartbeat_seconds]
            try:
                statuses = await asyncio.to_thread(_read, due, list(members))
            except Exception as exc:  # the database blinked: keep going, the leases allow it
                log.warning("control check failed for tasks %s: %s", ", ".join(lease.task_id for lease in members), exc)
            else:
                for lease in due:
                    members[lease].last_beat = now
                for lease, status in statuses.items():
                    if self._members.get(lease) is members[lease]:  # still watched
                        members[lease].deliver(status)
            pause = min((m.settings.control_poll_seconds for m in self._members.values()), default=0.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=pause)
            except TimeoutError:
                pass


def _read(due: list[Lease], leases: list[Lease]) -> dict[Lease, TaskStatus | None]:
    with session_scope() as session:
        task_store.heartbeat(session, due)
        return task_store.current_statuses(session, leases)


_polls: dict[asyncio.AbstractEventLoop, StatusPoll] = {}


def for_this_loop() -> StatusPoll:
    """The running loop's poll (a worker process has one loop; tests make many)."""
    loop = asyncio.get_running_loop()
    for other in [other for other in _polls if other.is_closed()]:
        del _polls[other]
    poll = _polls.get(loop)
    if poll is None:
        poll = _polls[loop] = StatusPoll()
    return poll

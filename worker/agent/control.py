"""Cooperative control of a running task: the loop's status poll
(worker/agent/status_poll.py) renews the lease and reads the task's status from
the database, with every other task of the process; the agent loop checks it between actions
and races its long waits (the model) against it, so stop and pause take effect
within a fraction of a second."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TypeVar

from shared.models import TaskStatus
from shared.settings import Settings
from shared.task_store import Lease
from worker.agent import status_poll

log = logging.getLogger("browserq.worker")
T = TypeVar("T")


class Interrupted(Exception):
    """The task must end now: stopped by the user, or the lease was lost."""

    def __init__(self, reason: str, lease_lost: bool = False) -> None:
        super().__init__(reason)
        self.lease_lost = lease_lost


class PauseTooLong(Exception):
    pass


class TaskControl:
    def __init__(self, lease: Lease, settings: Settings) -> None:
        self.lease = lease
        self.settings = settings
        self.status: TaskStatus | None = TaskStatus.running
        self.changed = asyncio.Event()
        self.parked = asyncio.Event()  # set while the agent waits in a checkpoint, paused
        self.driven = 0  # inputs a person applied to the page through the live view
        self._poll: status_poll.StatusPoll | None = None

    async def __aenter__(self) -> TaskControl:
        self._poll = status_poll.for_this_loop()
        self._poll.join(self.lease, self.settings, self._set)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._poll is not None:
            self._poll.leave(self.lease)
            self._poll = None

    def saw(self, status: TaskStatus | None) -> None:
        """A status read elsewhere in this process (the live view, right after a person took
        control): the agent acts on it now rather than at the status poll's next round."""
        self._set(status)

    async def until_parked(self, timeout: float) -> bool:
        """Wait until the agent has stopped at a checkpoint because the task is paused:
        whatever it was doing (a model call, an action) is over and it starts nothing new.
        False if the pause ended (or `timeout` passed) first."""
        deadline = time.monotonic() + timeout
        while not self.parked.is_set():
            left = deadline - time.monotonic()
            if self.status != TaskStatus.paused or left <= 0:
                return False
            try:
                await asyncio.wait_for(self.parked.wait(), timeout=min(left, 0.25))
            except TimeoutError:
                pass
        return self.status == TaskStatus.paused

    def _set(self, status: TaskStatus | None) -> None:
        if status != self.status:
            self.status = status
            self.changed.set()

    def _raise_if_over(self) -> None:
        if self.status is None:
            raise Interrupted("the task was stopped or taken over", lease_lost=True)

    async def checkpoint(self) -> bool:
        """Between actions: raise if the task must end; wait here while paused.
        True if a person drove the page meanwhile, so what the agent planned may no longer fit."""
        self._raise_if_over()
        if self.status != TaskStatus.paused:
            return False
        driven = self.driven
        deadline = time.monotonic() + self.settings.max_pause_seconds
        self.parked.set()
        try:
            while self.status == TaskStatus.paused:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PauseTooLong(f"paused longer than the limit of {self.settings.max_pause_seconds:.0f} s")
                self.changed.clear()
                try:
                    await asyncio.wait_for(self.changed.wait(), timeout=min(remaining, 5))
                except TimeoutError:
                    pass
        finally:
            self.parked.clear()
        self._raise_if_over()
        return self.driven != driven

    async def race(self, work: Awaitable[T]) -> T:
        """Run `work` unless the task is stopped first; a pause lets it finish."""
        job = asyncio.ensure_future(work)
        try:
            while True:
                self.changed.clear()
                self._raise_if_over()
                waiter = asyncio.ensure_future(self.changed.wait())
                finished, _ = await asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if job in finished:
                    return job.result()
        finally:
            if not job.done():
                job.cancel()
                try:
                    await job
                except (asyncio.CancelledError, Exception):
                    pass

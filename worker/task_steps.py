"""Where a task's finished steps go: the step sink the worker gives its Agent.
Each step gets its screenshot's storage key, step 1 the set-up's notices (as data:
Step.notices, shown before the evaluation by the API; any step also why its screenshot
was withheld), then it
is written under the task's lease (a lost lease interrupts the run), and the
files the step wrote or downloaded are stored right after it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import DataError

from shared import metrics, task_store
from shared.db import session_scope
from shared.task_store import Lease
from worker.agent.control import Interrupted
from worker.agent.steps import StepRecord, step_row
from worker.media.task_files import TaskFiles

log = logging.getLogger("browserq.worker")


class StoreRefused(Exception):
    """The database refused to store a step: running the task again would only repeat it."""


# What the database says when it refuses a value (not when it is down: that is OperationalError).
REFUSED = (DataError,)


@dataclass
class TaskSteps:
    """The worker's StepSink (see worker.agent.loop)."""

    lease: Lease
    files: TaskFiles
    notices: list[str] = field(default_factory=list)  # from the task's browser set-up

    async def add(self, record: StepRecord) -> None:
        record.screenshot_key = await self.files.screenshot_key(record.step)
        if record.step == 1:
            record.notices = list(self.notices)
        if withheld := self.files.withheld.pop(record.step, None):
            record.notices = [*record.notices, withheld]
        await store_step(self.lease, record)
        await self.files.sync_outputs()


async def store_step(lease: Lease, record: StepRecord) -> None:
    step = step_row(lease.task_id, lease.attempt, record)

    def write() -> bool:
        try:
            with session_scope() as session:
                return task_store.record_step(
                    session, lease, step, record.usage.input_tokens, record.usage.output_tokens
                )
        except REFUSED as exc:
            log.error("task %s: the database refused step %d: %s", lease.task_id, record.step, exc)
            raise StoreRefused(
                f"step {record.step} could not be stored (the database refused it: {type(exc.orig).__name__})."
            ) from None

    if not await asyncio.to_thread(write):
        raise Interrupted("the lease was lost while recording a step", lease_lost=True)
    metrics.step_recorded(record.duration_ms, record.usage.input_tokens, record.usage.output_tokens)

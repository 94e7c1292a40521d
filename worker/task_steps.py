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
from shared.models import Step
from shared.storable import storable, storable_text
from shared.task_store import Lease
from worker.agent.control import Interrupted
from worker.agent.loop import StepRecord
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
    step = Step(  # what the model and the page wrote, made storable first
        task_id=lease.task_id,
        step=record.step,
        attempt=lease.attempt,
        evaluation_previous_goal=storable_text(record.evaluation_previous_goal),
        memory=storable_text(record.memory),
        next_goal=storable_text(record.next_goal),
        url=storable_text(record.url),
        actions=storable(record.actions),
        results=storable(record.results),
        duration_ms=record.duration_ms,
        screenshot_key=record.screenshot_key,
        elements=storable(record.elements) or None,
        notices=storable(record.notices) or None,
        input_tokens=record.usage.input_tokens,
        output_tokens=record.usage.output_tokens,
    )

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

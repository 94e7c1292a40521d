"""What happens around an attempt that did not end normally: the history a new
attempt starts from, and handing a task back at once (worker shutting down,
browser crashed) instead of waiting for its lease to run out."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from playwright.async_api import Browser

from shared import task_store
from shared.db import session_scope
from shared.dispatch import dispatch
from shared.task_store import Lease
from worker.agent.steps import HistoryItem, history_item_of_row

log = logging.getLogger("browserq.worker")

# Leases this process holds, so a pool child that is exiting can hand them back.
HELD: set[Lease] = set()


def load_history(task_id: str) -> list[HistoryItem]:
    """The steps earlier attempts recorded, as the model saw its own history, so
    a new attempt knows what was done (the values were redacted when recorded)."""
    with session_scope() as session:
        return [history_item_of_row(step) for step in task_store.recorded_steps(session, task_id)]


def release(lease: Lease) -> bool:
    """running -> created under this lease; False if the lease was already gone."""
    with session_scope() as session:
        released = task_store.release(session, lease)
    if released:
        log.warning("task %s: attempt %d handed back for another attempt", lease.task_id, lease.attempt)
    return released


def release_held(leases: list[Lease] | None = None) -> None:
    """The pool child is exiting (soft shutdown, cancelled on a lost broker
    connection, recycled): hand back every task it holds (or `leases`, what it
    held before its tasks were stopped). The maintenance loop sends them again
    within a round."""
    for lease in list(HELD) if leases is None else leases:
        try:
            release(lease)
        except Exception as exc:
            log.warning("task %s: could not hand it back (%s); the reaper will", lease.task_id, exc)
    HELD.clear()


async def hand_back(lease: Lease) -> None:
    """Release and send again now: the fastest way to a new attempt."""
    if await asyncio.to_thread(release, lease):
        await asyncio.to_thread(dispatch, lease.task_id)


@dataclass
class BrowserWatch:
    """The Chromium an attempt runs on, to tell a crash from an ordinary failure."""

    browser: Browser | None = None

    def crashed(self) -> bool:
        return self.browser is not None and not self.browser.is_connected()

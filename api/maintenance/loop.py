"""The periodic housekeeping every deployment runs (embedded included): take
back tasks whose worker died, stop tasks paused too long, and send the
messages of tasks that were stored while the broker was unreachable.

Every change is a guarded UPDATE, so several copies of this loop (one per API
process) can run at once without harm."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from api.maintenance import retention, waiting
from shared import task_store
from shared.db import session_scope
from shared.dispatch import dispatch
from shared.settings import get_settings

log = logging.getLogger("browserq.maintenance")


def run_once() -> None:
    settings = get_settings()
    retention.maybe_run(settings)  # hourly by default; never raises
    waiting.run_once(settings)  # webhook events, tasks waiting under a key's cap; never raises
    with session_scope() as session:
        reaped = task_store.reap(session, settings.lease_seconds, settings.max_attempts)
        expired = task_store.expire_pauses(session, settings.max_pause_seconds)
        due = task_store.due_for_dispatch(session, settings.requeue_after_seconds)
    for task_id in reaped.failed:
        log.warning("task %s failed: its worker was lost too many times", task_id)
    for task_id in expired:
        log.info("task %s stopped: paused past the limit", task_id)
    for task_id in due:
        if not dispatch(task_id):
            return  # broker still down: try again next round
        if task_id in reaped.requeued:
            log.warning("task %s: its worker was lost; running it again", task_id)


class MaintenanceThread(threading.Thread):
    """Runs `run_once` every few seconds until stopped; an error never kills it."""

    def __init__(self, jobs: Sequence[Callable[[], object]] = ()) -> None:
        """`jobs` run after each round (the API adds the scheduled-task dispatcher)."""
        super().__init__(name="browserq-maintenance", daemon=True)
        self._stop_event = threading.Event()
        self._jobs = tuple(jobs)

    def run(self) -> None:
        interval = get_settings().maintenance_interval_seconds
        while not self._stop_event.wait(interval):
            for job in (run_once, *self._jobs):
                try:
                    job()
                except Exception:
                    log.exception("maintenance job %s failed; retrying", getattr(job, "__name__", job))

    def stop(self) -> None:
        self._stop_event.set()

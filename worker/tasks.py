"""The Celery task bodies: thin wrappers around `worker.execute`.

A pool process hosts many tasks at once on one event loop and one Chromium
(worker.runtime): the body waits for one of the process's slots and for room on
the host (worker.admission), claims the task, hands it to the loop and returns
(once the process has room for another), so the process takes its next message
while the task runs."""

from __future__ import annotations

import logging

from celery import Task as CeleryTask
from celery.exceptions import Reject
from celery.signals import worker_process_init, worker_process_shutdown

from shared import metrics
from shared.celery_app import RUN_TASK, celery_app
from shared.settings import get_settings
from worker import admission, diagnostics, recovery, runtime
from worker.execute import claim_task, run_claimed

log = logging.getLogger("browserq.worker")


class BrowserTask(CeleryTask):
    # A worker lost while a body waits for a slot (SIGKILL, OOM) gives the message
    # back a bounded number of times; once claimed, the database lease and the
    # reaper are what guarantee the outcome.
    max_retries = 3
    default_retry_delay = 1


@celery_app.task(name=RUN_TASK, base=BrowserTask, bind=True)
def run_task(self: CeleryTask, task_id: str) -> str | None:
    settings = get_settings()
    with runtime.slot() as slot:
        short = admission.wait_for_room(settings)
        if short is not None:
            log.warning("task %s: this host is short of %s; putting it back for another worker", task_id, short)
            raise Reject(f"host short of {short}", requeue=True)
        claimed = claim_task(task_id)
        if claimed is None:
            return None
        metrics.TASKS_RUNNING.inc()
        running = runtime.submit(run_claimed(task_id, claimed, runtime.pool(), settings))
        running.add_done_callback(lambda _f: metrics.TASKS_RUNNING.dec())
        slot.hand_to(running)
    runtime.wait_while_full()
    return "started"


@worker_process_init.connect
def _diagnostics(**_kwargs: object) -> None:
    diagnostics.install()


@worker_process_shutdown.connect
def _close_browser(**_kwargs: object) -> None:
    """The pool child is exiting (a shutdown, a lost broker connection): stop its
    tasks, hand back every one it held, then close its Chromium."""
    held = list(recovery.HELD)
    runtime.shutdown(before_close=lambda: recovery.release_held(held))

"""The Celery task bodies: thin wrappers around `worker.execute`."""

from __future__ import annotations

import logging

from celery import Task as CeleryTask
from celery.signals import worker_process_init, worker_process_shutdown

from shared.celery_app import RUN_TASK, celery_app
from shared.settings import get_settings
from worker import diagnostics, runtime
from worker.execute import execute_task
from worker.recovery import release_held

log = logging.getLogger("browserq.worker")


class BrowserTask(CeleryTask):
    # A worker lost mid-task (SIGKILL, OOM) gives the message back a bounded number
    # of times; the database lease and the reaper are what guarantee the outcome.
    max_retries = 3
    default_retry_delay = 1


@celery_app.task(name=RUN_TASK, base=BrowserTask, bind=True)
def run_task(self: CeleryTask, task_id: str) -> str | None:
    status = runtime.run(execute_task(task_id, runtime.pool(), get_settings()))
    return status.value if status else None


@worker_process_init.connect
def _diagnostics(**_kwargs: object) -> None:
    diagnostics.install()


@worker_process_shutdown.connect
def _close_browser(**_kwargs: object) -> None:
    """The pool child is exiting (recycled, cancelled by a soft shutdown or a lost
    broker connection): hand back what it runs, then close its Chromium."""
    release_held()
    runtime.shutdown()

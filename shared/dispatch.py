"""Sending "run task X" to the broker, and noting that it was sent."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlmodel import col, select

from shared import task_store
from shared.celery_app import enqueue_run
from shared.db import session_scope
from shared.models import Task
from shared.settings import get_settings

log = logging.getLogger("browserq.dispatch")

# How long a caller (the run-task request) waits for the broker. The publish has
# socket timeouts of its own, but on a loaded machine a hung broker still cost
# over 5 s (measured), so the wait is bounded here; a publish still in flight
# then finishes, or fails, in the background.
WAIT_SECONDS = 0.5
_IN_FLIGHT = 8  # publishes stuck on a hung broker at once, at most; past that, fail at once
_slots = threading.BoundedSemaphore(_IN_FLIGHT)
_pool = ThreadPoolExecutor(max_workers=_IN_FLIGHT, thread_name_prefix="browserq-dispatch")


def dispatch(task_id: str, wait_seconds: float = WAIT_SECONDS) -> bool:
    """Best effort: False when the broker is unreachable or slow; the task stays
    stored with no `enqueued_at`, and the maintenance loop sends it later (a
    late publish that lands as well is a duplicate the claim ignores)."""
    if not _slots.acquire(blocking=False):
        log.warning("broker not answering; task %s stays stored and is sent later", task_id)
        return False
    future = _pool.submit(_send, task_id)
    try:
        return future.result(timeout=wait_seconds)
    except FutureTimeout:
        log.warning("broker slow (over %.1f s); task %s stays stored and is sent later", wait_seconds, task_id)
        return False


def _send(task_id: str) -> bool:
    try:
        try:
            enqueue_run(task_id, _browser_kind(task_id))
        except Exception as exc:
            log.warning("broker unavailable; task %s stays stored and is sent later (%s)", task_id, exc)
            return False
        with session_scope() as session:
            task_store.mark_enqueued(session, task_id)
        return True
    finally:
        _slots.release()


def _browser_kind(task_id: str) -> str:
    """The task's kind, read here so every sender (run-task, the maintenance loop,
    resume, schedules) routes it alike; a task from before kinds runs in the default."""
    with session_scope() as session:
        kind = session.exec(select(Task.browser_kind).where(col(Task.id) == task_id)).first()
    return kind or get_settings().browser_kind

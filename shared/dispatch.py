"""Sending "run task X" to the broker, and noting that it was sent."""

from __future__ import annotations

import logging

from shared import task_store
from shared.celery_app import enqueue_run
from shared.db import session_scope

log = logging.getLogger("browserq.dispatch")


def dispatch(task_id: str) -> bool:
    """Best effort: False when the broker is unreachable; the task stays stored
    with no `enqueued_at`, and the maintenance loop sends it later."""
    try:
        enqueue_run(task_id)
    except Exception as exc:
        log.warning("broker unavailable; task %s stays stored and is sent later (%s)", task_id, exc)
        return False
    with session_scope() as session:
        task_store.mark_enqueued(session, task_id)
    return True

"""Deleting what is kept only for a while: files older than
`file_retention_days` (uploads, screenshots, recordings and output files; the
task keeps its record, steps and output, is marked `files_expired_at`, and its
file endpoints then answer 410), and webhook events that ended more than
`webhook_history_days` ago.

Run from the maintenance loop, at most once per `retention_interval_seconds`
per process; several processes doing it at once is harmless."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import update
from sqlmodel import col, select

from shared.db import session_scope
from shared.models import Task
from shared.row_jobs import isolated
from shared.settings import Settings, get_settings
from shared.storage import Storage, get_storage
from shared.storage.names import task_prefix
from shared.webhooks import delivery

log = logging.getLogger("browserq.retention")

BATCH = 500
_last_run: float | None = None  # monotonic time of the last round in this process
_lock = threading.Lock()


def maybe_run(settings: Settings | None = None) -> None:
    """Purge if the interval has passed; never raises (maintenance must go on)."""
    global _last_run
    settings = settings or get_settings()
    with _lock:
        if _last_run is not None and time.monotonic() - _last_run < settings.retention_interval_seconds:
            return
        _last_run = time.monotonic()
    try:
        expired, deleted = purge(get_storage(), timedelta(days=settings.file_retention_days))
        events = delivery.purge_history(timedelta(days=settings.webhook_history_days))
        if expired or deleted or events:
            log.info(
                "retention: files of %d tasks expired, %d files deleted, %d webhook events deleted",
                expired,
                deleted,
                events,
            )
    except Exception:
        log.exception("retention round failed; retrying at the next interval")


def purge(storage: Storage, keep: timedelta) -> tuple[int, int]:
    """Returns (tasks marked expired, files deleted)."""
    now = datetime.now(UTC)
    cutoff = now - keep
    expired = 0
    while True:
        with session_scope() as session:
            ids = session.exec(
                select(Task.id).where(col(Task.finished_at) < cutoff, col(Task.files_expired_at).is_(None)).limit(BATCH)
            ).all()
        if not ids:
            break
        for task_id in ids:  # one task's files failing to go never keeps the others'
            isolated("retention", task_id, partial(_delete_files, storage, task_id))
        # All are marked, failed ones too: their files are past their time and no longer served;
        # the sweep below deletes whatever stayed behind, at each round.
        with session_scope() as session:
            session.execute(update(Task).where(col(Task.id).in_(ids)).values(files_expired_at=now))
        expired += len(ids)
    old = [o.key for prefix in ("uploads/", "tasks/") for o in storage.list(prefix) if o.modified < cutoff]
    storage.delete(old)
    return expired, len(old)


def _delete_files(storage: Storage, task_id: str) -> None:
    storage.delete([o.key for o in storage.list(task_prefix(task_id))])

"""Signed URLs for a task view, made without touching the store (signing is local)."""

from __future__ import annotations

import logging

from shared.models import Task
from shared.storage import StorageError, get_storage

log = logging.getLogger("browserq.api")


def screenshot_url(task: Task, key: str | None) -> str | None:
    """None when there is no screenshot, the files expired, or URLs cannot be signed
    (a task view must never fail because of file storage)."""
    if key is None or task.files_expired_at is not None:
        return None
    try:
        return get_storage().url_for_get(key)
    except StorageError as exc:
        log.warning("no screenshot URL: %s", exc)
        return None

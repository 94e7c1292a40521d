"""Idempotency-Key on run-task (v1 and v2), as Stripe's API has it: a client that
lost the answer to a submit sends it again with the same key and gets the same
task, not a second one. Same key and same body within 24 h: the first task's id;
same key with another body: a 422 that says so. The key's row is written in the
task's own transaction, so two retries racing each other still make one task."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header
from sqlalchemy import delete
from sqlmodel import Session, col

from api.errors import invalid
from shared.db import as_utc
from shared.models import IdempotencyKey, utcnow
from shared.settings import get_settings

KEEP = timedelta(hours=24)
HEADER = "Idempotency-Key"

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        description="Any unique string (a UUID): a retry with the same key and body within 24 h returns the same "
        "task instead of making another",
    ),
]


def fingerprint(route: str, owner_id: str, body: dict[str, Any]) -> str:
    """A keyed hash of what was asked (secrets included, so it is keyed: never a plain hash of a secret)."""
    key = f"{get_settings().secret_key or ''}:{owner_id}".encode()
    text = json.dumps({"route": route, "body": body}, sort_keys=True, default=str)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def earlier_task(session: Session, owner_id: str, key: str, print_: str) -> str | None:
    """The task an earlier request with this key made (None: there is none, or it is older
    than 24 h and now forgotten). Raises the 422 when that request had another body."""
    row = session.get(IdempotencyKey, (owner_id, key))
    if row is None:
        return None
    if as_utc(row.created_at) < utcnow() - KEEP:  # type: ignore[operator]
        session.execute(
            delete(IdempotencyKey).where(col(IdempotencyKey.owner_id) == owner_id, col(IdempotencyKey.key) == key)
        )
        session.commit()
        return None
    if not hmac.compare_digest(row.fingerprint, print_):
        raise invalid(
            ["header", HEADER],
            f"this {HEADER} was used within the last 24 h for a request with another body (task "
            f"{row.task_id}): send a new key for a new task, or the same body to get that task",
        )
    return row.task_id


def record(session: Session, owner_id: str, key: str, print_: str, task_id: str) -> None:
    """Added to the task's transaction: a second request racing this one fails its commit on the key."""
    session.add(IdempotencyKey(owner_id=owner_id, key=key, fingerprint=print_, task_id=task_id))

"""Links that open a task without an API key: the live view (a signed,
expiring token: whoever holds it may watch and take control) and the public
share page (a random token stored on the task, read-only).

A live token is `<expires>.<signature>`, the signature an HMAC-SHA256 over
`<task id>.<expires>` with a key derived from `settings.secret_key`, so it
opens one task only and nothing has to be stored. Besides its own expiry, a
live link dies with its task: once the task is final it works for
`live_view_grace_seconds` more, then never again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
from datetime import UTC, datetime

from shared.models import FINAL_STATUSES, Task
from shared.settings import Settings

_LIVE_PURPOSE = b"browserq/live-view/v1"


def _live_key(secret_key: str) -> bytes:
    """A key for this purpose only, so a live token can never double as anything else."""
    return hmac.new(secret_key.encode(), _LIVE_PURPOSE, hashlib.sha256).digest()


def _signature(task_id: str, expires: int, secret_key: str) -> str:
    digest = hmac.new(_live_key(secret_key), f"{task_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_live_token(task_id: str, expires: int, secret_key: str) -> str:
    return f"{expires}.{_signature(task_id, expires, secret_key)}"


def live_token_valid(task_id: str, token: str, secret_key: str, now: float | None = None) -> bool:
    """The token was made for this task and has not expired."""
    expires_text, _, signature = token.partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12 or not signature:
        return False
    expires = int(expires_text)
    if expires < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature, _signature(task_id, expires, secret_key))


def _epoch(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def live_expiry(task: Task, settings: Settings, now: float | None = None) -> int:
    """When a link made now stops working. A final task: its end plus the grace
    period. Otherwise long enough for the longest run, rounded up to the hour
    so the link a client sees stays the same from one poll to the next."""
    if task.status in FINAL_STATUSES:
        ended = _epoch(task.finished_at) if task.finished_at else (time.time() if now is None else now)
        return int(ended + settings.live_view_grace_seconds)
    horizon = (time.time() if now is None else now) + settings.task_timeout_seconds + settings.max_pause_seconds
    return int(math.ceil(horizon / 3600) * 3600)


def live_over(task: Task, settings: Settings, now: float | None = None) -> bool:
    """The task ended longer ago than the grace period: nothing left to watch."""
    if task.status not in FINAL_STATUSES:
        return False
    return live_expiry(task, settings, now) < (time.time() if now is None else now)


def live_url(task: Task, settings: Settings) -> str | None:
    """The live view's address, or None when there is no key to sign with or the task is long over."""
    if not settings.secret_key or live_over(task, settings):
        return None
    token = sign_live_token(task.id, live_expiry(task, settings), settings.secret_key)
    return f"{settings.public_url.rstrip('/')}/live/{task.id}?token={token}"


def live_denied(task: Task | None, task_id: str, token: str, settings: Settings) -> str | None:
    """Why this token opens nothing (None: it opens the task's live view)."""
    if not settings.secret_key:
        return "the live view is off: the server has no BROWSERQ_SECRET_KEY to sign links with"
    if not live_token_valid(task_id, token, settings.secret_key):
        return "this live link is wrong or has expired: ask the API for the task's current live_url"
    if task is None or live_over(task, settings):
        return "this task has ended; its live view is closed"
    return None


def new_share_token() -> str:
    """Unguessable (192 random bits): the only thing that opens a public share page."""
    return secrets.token_urlsafe(24)


def share_url(task: Task, settings: Settings) -> str | None:
    token = getattr(task, "public_share_token", None)
    if not task.enable_public_share or not token:
        return None
    return f"{settings.public_url.rstrip('/')}/share/{token}"

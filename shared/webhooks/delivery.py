"""Sending events. The maintenance loop claims due rows of the outbox with a
guarded UPDATE (so several API processes never send one twice) and enqueues
`deliver_webhook` by name; a worker makes one attempt and records it. A
failure is retried up to `webhook_max_retries` times, each wait twice the last
(the row's `next_attempt_at`), so a lost message or a dead worker only delays
an event: the claim expires and the loop sends it again."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from shared import netguard
from shared.celery_app import DELIVER_WEBHOOK, WEBHOOK_QUEUE, celery_app
from shared.db import session_scope
from shared.models import Webhook, WebhookDelivery, utcnow
from shared.row_jobs import isolated
from shared.settings import Settings, get_settings
from shared.webhooks.config import secret_of
from shared.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, canonical, sign

log = logging.getLogger("browserq.webhooks")

# How long a claimed row waits for its attempt before the loop sends it again.
CLAIM_SECONDS = 120.0
MAX_ERROR_CHARS = 500


def send_due(limit: int = 200) -> int:
    """Claim the due events and enqueue one delivery each; returns how many were sent."""
    now = utcnow()
    with session_scope() as session:
        due = session.exec(
            select(WebhookDelivery.id, WebhookDelivery.next_attempt_at)
            .where(col(WebhookDelivery.state) == "pending", col(WebhookDelivery.next_attempt_at) <= now)
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(limit)
        ).all()
    sent = 0
    for delivery_id, due_at in due:
        if not isolated("webhooks", delivery_id, partial(_claim, delivery_id, due_at, now)):
            continue  # another API process has it, or this one row failed (logged, counted)
        try:
            celery_app.send_task(DELIVER_WEBHOOK, args=[delivery_id], queue=WEBHOOK_QUEUE)
        except Exception as exc:  # broker down: the claim expires and it is sent again
            log.warning("broker unavailable; webhook delivery %s is sent later (%s)", delivery_id, exc)
            return sent
        sent += 1
    return sent


def purge_history(keep: timedelta) -> int:
    """Delete delivered and failed events that ended more than `keep` ago; pending
    ones stay whatever their age. Returns how many were deleted."""
    cutoff = utcnow() - keep
    with session_scope() as session:
        result = session.execute(
            delete(WebhookDelivery).where(
                col(WebhookDelivery.state).in_(["delivered", "failed"]), col(WebhookDelivery.finished_at) < cutoff
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _claim(delivery_id: str, due_at: datetime, now: datetime) -> bool:
    with session_scope() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.state) == "pending",
                col(WebhookDelivery.next_attempt_at) == due_at,
            )
            .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def deliver(delivery_id: str, settings: Settings | None = None) -> str | None:
    """One attempt at one event; returns the row's new state (None: nothing to do)."""
    settings = settings or get_settings()
    with session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.state != "pending":
            return None
        webhook = session.get(Webhook, delivery.owner_id)
        if webhook is None:
            return _record(session, delivery, "failed", error="no webhook is set for this key any more")
        url, secret = webhook.url, secret_of(webhook)
        body, attempts = delivery.body, delivery.attempts
    target = netguard.check_url(url, settings.allow_private_hosts)
    if isinstance(target, str):
        log.warning("webhook delivery %s refused: %s", delivery_id, target)
        with session_scope() as session:
            return _record_attempt(session, delivery_id, attempts, url, None, f"not sent: {target}", final=True)
    status_code, error = _post(url, target, secret, body, settings.webhook_timeout_seconds)
    with session_scope() as session:
        return _record_attempt(session, delivery_id, attempts, url, status_code, error, final=False)


def _post(
    url: str, target: netguard.Target, secret: str, body: dict[str, Any], timeout: float
) -> tuple[int | None, str | None]:
    """POST to exactly the address that was checked (a name re-resolved here could
    now point elsewhere: DNS rebinding). The error kept says what happened, never
    what the other side answered: whoever set the webhook URL reads it."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "browserq-webhooks/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    parsed = httpx.URL(url)
    headers["Host"] = parsed.netloc.decode("ascii")
    pinned = parsed.copy_with(host=target.address)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(
                pinned, content=canonical(body).encode(), headers=headers, extensions={"sni_hostname": target.host}
            )
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: the request to {target.host}:{target.port} failed"[:MAX_ERROR_CHARS]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code} from {target.host}:{target.port}"


def _record_attempt(
    session: Session,
    delivery_id: str,
    attempts_before: int,
    url: str,
    status_code: int | None,
    error: str | None,
    final: bool,
) -> str | None:
    """Guarded by the attempt count, so a duplicate message cannot record twice."""
    settings = get_settings()
    attempts = attempts_before + 1
    if error is None:
        values: dict[str, Any] = {"state": "delivered", "finished_at": utcnow()}
    elif final or attempts > settings.webhook_max_retries:
        values = {"state": "failed", "finished_at": utcnow()}
    else:
        wait = settings.webhook_retry_base_seconds * 2 ** (attempts - 1)
        values = {"state": "pending", "next_attempt_at": utcnow() + timedelta(seconds=wait)}
    result = session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery_id,
            col(WebhookDelivery.state) == "pending",
            col(WebhookDelivery.attempts) == attempts_before,
        )
        .values(attempts=attempts, status_code=status_code, last_error=error, url=url, **values)
    )
    return values["state"] if result.rowcount == 1 else None  # type: ignore[attr-defined]


def _record(session: Session, delivery: WebhookDelivery, state: str, error: str) -> str:
    delivery.state, delivery.last_error, delivery.finished_at = state, error, utcnow()
    session.add(delivery)
    return state


@celery_app.task(name=DELIVER_WEBHOOK, ignore_result=True, acks_late=True)
def deliver_webhook(delivery_id: str) -> str | None:
    return deliver(delivery_id)

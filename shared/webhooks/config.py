"""Setting, reading and removing a key's webhook; shared by the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlmodel import Session, col

from shared import netguard
from shared.crypto import decrypt_json, encrypt_json
from shared.models import Webhook, WebhookDelivery, utcnow
from shared.settings import get_settings
from shared.webhooks import outbox
from shared.webhooks.signing import new_secret

MAX_URL_CHARS = 2000
MIN_SECRET_CHARS = 16


class WebhookRefused(ValueError):
    """The URL or secret cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class WebhookSet:
    webhook: Webhook
    generated_secret: str | None  # shown once, when the server made the secret
    test_delivery_id: str


def check_url(url: str) -> str:
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise WebhookRefused(f"the webhook URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        if host:
            host.encode("idna")
        parts.port  # noqa: B018 (reading it checks it)
    except (ValueError, UnicodeError):  # e.g. 'http://[::1' or a host IDNA cannot encode
        raise WebhookRefused(f"{url!r} is not a valid URL, e.g. https://example.com/hooks/browserq") from None
    if parts.scheme.lower() not in {"http", "https"} or not host:
        raise WebhookRefused("the webhook URL must be an absolute http(s) URL, e.g. https://example.com/hooks/browserq")
    reason = netguard.blocked_reason(url, get_settings().allow_private_hosts)
    if reason:
        raise WebhookRefused(f"cannot send webhooks to {url}: {reason}")
    return url


def set_webhook(session: Session, owner_id: str, url: str, secret: str | None = None) -> WebhookSet:
    """Store (or replace) the key's webhook and queue its test event, in one commit."""
    url = check_url(url)
    if secret is not None and len(secret) < MIN_SECRET_CHARS:
        raise WebhookRefused(f"the secret must be at least {MIN_SECRET_CHARS} characters; leave it out to get one made")
    generated = None if secret else new_secret()
    row = session.get(Webhook, owner_id) or Webhook(owner_id=owner_id, url=url, secret_encrypted="")
    row.url, row.secret_encrypted, row.updated_at = url, encrypt_json(secret or generated), utcnow()
    session.add(row)
    test = outbox.record_test(session, owner_id)
    session.commit()
    return WebhookSet(row, generated, test.id)


def get_webhook(session: Session, owner_id: str) -> Webhook | None:
    return session.get(Webhook, owner_id)


def secret_of(webhook: Webhook) -> str:
    return str(decrypt_json(webhook.secret_encrypted))


def remove_webhook(session: Session, owner_id: str) -> bool:
    """Delete the webhook; events not yet delivered are given up (and say so)."""
    row = session.get(Webhook, owner_id)
    if row is None:
        return False
    session.delete(row)
    session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.owner_id) == owner_id, col(WebhookDelivery.state) == "pending")
        .values(
            state="failed", last_error="the webhook was removed before this event was delivered", finished_at=utcnow()
        )
    )
    session.commit()
    return True

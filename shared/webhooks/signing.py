"""The signature recipe of the v1 contract (spec/api-v1.md, Webhooks):
hex HMAC-SHA256 with the owner's secret over
`f"{timestamp}.{json.dumps(body, separators=(',', ':'), sort_keys=True)}"`,
the timestamp being the `X-Browser-Use-Timestamp` header (Unix seconds)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

TIMESTAMP_HEADER = "X-Browser-Use-Timestamp"
SIGNATURE_HEADER = "X-Browser-Use-Signature"


def canonical(body: dict[str, Any]) -> str:
    """The body as signed, and as sent: compact, keys sorted."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def sign(secret: str, timestamp: str, body: dict[str, Any]) -> str:
    message = f"{timestamp}.{canonical(body)}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: dict[str, Any], signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def new_secret() -> str:
    return secrets.token_hex(32)

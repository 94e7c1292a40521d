"""API keys: made once, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session

from shared.models import ApiKey

PREFIX = "bq_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str) -> tuple[ApiKey, str]:
    """Returns the row and the key in clear; the clear key is never stored."""
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, key_hash=hash_key(key), prefix=key[:10])
    session.add(row)
    session.commit()
    return row, key

"""Typed dependencies: the database session and the caller's key."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, col, select

from api.ratelimit import retry_after
from shared.db import get_engine
from shared.keys import hash_key
from shared.models import ApiKey
from shared.settings import get_settings

_bearer = HTTPBearer(auto_error=False, description="Your browserq API key (`browserq keys create NAME`).")
# How long a process trusts a key it has checked: clients poll in tight loops, and a
# revoked key (`browserq keys revoke`) must stop working on every process at once.
KEY_CACHE_SECONDS = 1.0
bearer = _bearer  # for a route that answers a bad key itself (GET /me)
_key_cache: dict[str, tuple[str, float]] = {}


def get_session() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def current_owner(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The id of the caller's key. Cached briefly, since clients poll in tight loops."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("Missing API key: send 'Authorization: Bearer <key>'")
    return owner_of_key(session, credentials.credentials)


def owner_of_key(session: Session, key: str) -> str:
    """The owner id of a valid key, however the caller sent it (v1 and v2 differ)."""
    digest = hash_key(key)
    cached = _key_cache.get(digest)
    if cached and cached[1] > time.monotonic():
        return _within_rate_limit(cached[0])
    owner = session.exec(
        select(ApiKey.id).where(col(ApiKey.key_hash) == digest, col(ApiKey.revoked_at).is_(None))
    ).one_or_none()
    if owner is None:
        raise _unauthorized("Invalid API key")
    _key_cache[digest] = (owner, time.monotonic() + KEY_CACHE_SECONDS)
    return _within_rate_limit(owner)


def _within_rate_limit(owner: str) -> str:
    """429 with Retry-After once the key is past `rate_limit_per_minute`."""
    wait = retry_after(owner)
    if wait is None:
        return owner
    raise HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"Rate limit of {get_settings().rate_limit_per_minute} requests a minute reached for this key; "
        f"retry in {math.ceil(wait)} s",
        headers={"Retry-After": str(math.ceil(wait))},
    )


OwnerId = Annotated[str, Depends(current_owner)]

_v2_key = APIKeyHeader(
    name="X-Browser-Use-API-Key", auto_error=False, description="Your browserq API key (`browserq keys create NAME`)."
)


def current_owner_v2(session: SessionDep, key: Annotated[str | None, Security(_v2_key)]) -> str:
    """v2's clients send the key in their own header."""
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Missing API key: send 'X-Browser-Use-API-Key: <key>'")
    return owner_of_key(session, key)


OwnerV2 = Annotated[str, Depends(current_owner_v2)]

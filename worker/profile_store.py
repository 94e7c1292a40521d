"""A browser profile's saved storage state (cookies and local storage), kept
encrypted. Two tasks on one profile at once each start from the state saved
before they began; each saves at its end with one atomic UPDATE, so the later
save wins whole (the states are never merged or half-written)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from shared.crypto import decrypt_json, encrypt_json
from shared.models import BrowserProfile, utcnow


def load_state(session: Session, profile_id: str, owner_id: str) -> tuple[BrowserProfile | None, dict[str, Any] | None]:
    """The profile (None if deleted) and, when it persists, the state its next task starts from."""
    profile = session.exec(
        select(BrowserProfile).where(col(BrowserProfile.id) == profile_id, col(BrowserProfile.owner_id) == owner_id)
    ).one_or_none()
    if profile is None or not profile.persist or not profile.storage_state_encrypted:
        return profile, None
    state = decrypt_json(profile.storage_state_encrypted)
    return profile, state if isinstance(state, dict) else None


def save_state(session: Session, profile_id: str, state: Mapping[str, Any], task_id: str) -> bool:
    """Replace the saved state in one statement; False when the profile is gone or no longer persists."""
    result = session.execute(
        update(BrowserProfile)
        .where(col(BrowserProfile.id) == profile_id, col(BrowserProfile.persist).is_(True))
        .values(storage_state_encrypted=encrypt_json(state), storage_saved_at=utcnow(), storage_saved_by=task_id)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]

"""A caller's own rows: another key's task or profile is a 404, as if it did not exist."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from sqlmodel import Session

from api.schemas import ErrorDetail
from shared.models import BrowserProfile, Task

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail, "description": "Task not found"}}


def get_owned_task(session: Session, owner_id: str, task_id: str) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.owner_id != owner_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Task not found")
    return task


def get_owned_profile(session: Session, owner_id: str, profile_id: str) -> BrowserProfile:
    """The caller's profile; another key's profile is 404, as if it did not exist."""
    profile = session.get(BrowserProfile, profile_id)
    if profile is None or profile.owner_id != owner_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Browser profile not found")
    return profile

"""A caller's own rows: another key's task, profile or schedule is a 404, as if it did not exist."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException, status
from sqlmodel import Session

from api.schemas import ErrorDetail
from shared.models import BrowserProfile, ScheduledTask, Task
from shared.settings import get_settings

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail, "description": "Task not found"}}
GONE: dict[int | str, dict[str, Any]] = {410: {"description": "The task's files expired and were deleted"}}

Owned = TypeVar("Owned", Task, BrowserProfile, ScheduledTask)


def get_owned(session: Session, model: type[Owned], row_id: str, owner_id: str, missing: str) -> Owned:
    """The caller's row of `model`; none, or another key's, is a 404 that says `missing`."""
    row = session.get(model, row_id)
    if row is None or row.owner_id != owner_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, missing)
    return row


def get_owned_task(session: Session, owner_id: str, task_id: str) -> Task:
    return get_owned(session, Task, task_id, owner_id, "Task not found")


def get_task_with_files(session: Session, owner_id: str, task_id: str) -> Task:
    """The caller's task, or 410 once its files expired (v1's and v2's file routes)."""
    task = get_owned_task(session, owner_id, task_id)
    if task.files_expired_at is not None:
        days = get_settings().file_retention_days
        raise HTTPException(
            status.HTTP_410_GONE,
            f"The files of this task expired (they are kept {days:g} days) and were deleted; "
            "the task itself, its steps and output are still available.",
        )
    return task


def get_owned_profile(session: Session, owner_id: str, profile_id: str) -> BrowserProfile:
    return get_owned(session, BrowserProfile, profile_id, owner_id, "Browser profile not found")


def get_owned_schedule(session: Session, owner_id: str, schedule_id: str) -> ScheduledTask:
    return get_owned(session, ScheduledTask, schedule_id, owner_id, "Scheduled task not found")

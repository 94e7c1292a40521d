"""The per-key cap on tasks running at once (`max_running_tasks_per_key`).
A task over the cap is never refused: its claim fails, it stays `created`
with `capped_at` set, and the maintenance loop sends it again once its key
has a free slot (not before, so a waiting task costs nothing meanwhile)."""

from __future__ import annotations

from functools import partial

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from shared.models import ApiKey, Task, TaskStatus, utcnow
from shared.row_jobs import isolated

# Paused tasks count: they keep their browser and may resume at any moment.
HOLDING_SLOT = (TaskStatus.running, TaskStatus.paused)


def running_count(session: Session, owner_id: str) -> int:
    return session.exec(
        select(func.count()).select_from(Task).where(col(Task.owner_id) == owner_id, col(Task.status).in_(HOLDING_SLOT))
    ).one()


def at_cap(session: Session, task_id: str, cap: int) -> bool:
    """Inside a claim's transaction: True when the task's key has no free slot.
    Locks the key's row first (PostgreSQL), so two workers claiming tasks of
    one key at the same moment take turns and cannot both see a free slot;
    SQLite serialises writers anyway."""
    if cap <= 0:
        return False
    row = session.exec(select(Task.owner_id, Task.created_at).where(Task.id == task_id)).one_or_none()
    if row is None:
        return False
    owner_id, created_at = row
    session.exec(select(ApiKey.id).where(ApiKey.id == owner_id).with_for_update()).one_or_none()
    return running_count(session, owner_id) >= cap or _older_waiting(session, owner_id, task_id, created_at)


def _older_waiting(session: Session, owner_id: str, task_id: str, created_at: object) -> bool:
    """First come, first served: a task does not jump ahead of its key's older waiting ones."""
    return (
        session.exec(
            select(Task.id)
            .where(
                col(Task.owner_id) == owner_id,
                col(Task.status) == TaskStatus.created,
                col(Task.capped_at).is_not(None),
                col(Task.created_at) < created_at,
                col(Task.id) != task_id,
            )
            .limit(1)
        ).first()
        is not None
    )


def mark_capped(session: Session, task_id: str) -> None:
    session.execute(
        update(Task).where(col(Task.id) == task_id, col(Task.status) == TaskStatus.created).values(capped_at=utcnow())
    )


def release_waiting(session: Session, cap: int) -> list[str]:
    """Capped tasks whose key now has a free slot, oldest first, marked as sent."""
    waiting = session.exec(
        select(Task.id, Task.owner_id)
        .where(col(Task.status) == TaskStatus.created, col(Task.capped_at).is_not(None))
        .order_by(col(Task.created_at))
    ).all()
    free: dict[str, int] = {}
    released = []
    for task_id, owner_id in waiting:
        if owner_id not in free:
            free[owner_id] = max(0, cap - running_count(session, owner_id)) if cap > 0 else len(waiting)
        if free[owner_id] <= 0:
            continue
        # One row per commit: a row that fails is rolled back alone (logged, counted), the rest go on.
        if isolated("capped", task_id, partial(_release, session, task_id), lambda _exc: session.rollback()):
            free[owner_id] -= 1
            released.append(task_id)
    return released


def _release(session: Session, task_id: str) -> bool:
    result = session.execute(
        update(Task)
        .where(col(Task.id) == task_id, col(Task.status) == TaskStatus.created, col(Task.capped_at).is_not(None))
        .values(capped_at=None, enqueued_at=utcnow())
    )
    session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]

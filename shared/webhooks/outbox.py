"""Writing events. Each is a `WebhookDelivery` row added to the caller's
session, so it commits (or rolls back) with the status change it reports: an
event is never lost when a process dies after the commit, and never sent for
a change that did not happen. Nothing is written for keys without a webhook."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from shared.models import Task, TaskStatus, Webhook, WebhookDelivery, utcnow

STATUS_UPDATE = "agent.task.status_update"
TEST = "test"


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def status_body(task_id: str, status: str, metadata: dict[str, str] | None, at: datetime) -> dict[str, Any]:
    """The event's body; a task runs in its own browser session, so session_id is the task id."""
    return {
        "type": STATUS_UPDATE,
        "timestamp": iso(at),
        "payload": {"session_id": task_id, "task_id": task_id, "status": status, "metadata": metadata or {}},
    }


def record_status(session: Session, task_id: str, status: TaskStatus | str) -> None:
    """Call in the transaction that changed the task's status, before its commit."""
    row = session.exec(
        select(Task.owner_id, Task.task_metadata)
        .join(Webhook, Webhook.owner_id == Task.owner_id)  # type: ignore[arg-type]
        .where(Task.id == task_id)
    ).one_or_none()
    if row is None:
        return
    owner_id, metadata = row
    _add(session, owner_id, task_id, TaskStatus(status).value, metadata)


def record_new_task(session: Session, task: Task) -> None:
    """For a task being inserted in this session (not yet flushed)."""
    if session.get(Webhook, task.owner_id) is not None:
        _add(session, task.owner_id, task.id, task.status.value, task.task_metadata)


def _add(session: Session, owner_id: str, task_id: str, status: str, metadata: dict[str, str] | None) -> None:
    now = utcnow()
    session.add(
        WebhookDelivery(
            owner_id=owner_id, event_type=STATUS_UPDATE, task_id=task_id, task_status=status,
            body=status_body(task_id, status, metadata, now), created_at=now, next_attempt_at=now,
        )
    )


def record_test(session: Session, owner_id: str) -> WebhookDelivery:
    """The event a newly set URL receives first."""
    now = utcnow()
    delivery = WebhookDelivery(
        owner_id=owner_id, event_type=TEST, body={"type": TEST, "timestamp": iso(now), "payload": {"test": "ok"}},
        created_at=now, next_attempt_at=now,
    )
    session.add(delivery)
    return delivery

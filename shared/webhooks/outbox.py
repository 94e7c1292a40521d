"""Writing events. Each is a `WebhookDelivery` row added to the caller's
session, so it commits (or rolls back) with the status change it reports: an
event is never lost when a process dies after the commit, and never sent for
a change that did not happen. Nothing is written for keys without a webhook."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from shared.billing import task_cost
from shared.models import FINAL_STATUSES, Task, TaskStatus, Webhook, WebhookDelivery, utcnow

STATUS_UPDATE = "agent.task.status_update"
TEST = "test"

# The official webhook docs name statuses differently from the task API: a client that
# waits for `started` or `initializing` must see those. A failed task is reported as
# `stopped` (the docs' "stopped: manually or due to an error"): every ending then
# reaches a client that waits for `finished` or `stopped`, and none waits for ever.
WEBHOOK_STATUS = {
    TaskStatus.created: "initializing",
    TaskStatus.running: "started",
    TaskStatus.paused: "paused",
    TaskStatus.stopped: "stopped",
    TaskStatus.finished: "finished",
    TaskStatus.failed: "stopped",
}


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def status_body(
    task_id: str, status: str, metadata: dict[str, str] | None, at: datetime, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The event's body, with the webhook name of the task's `status`; a task runs in its
    own browser session, so session_id is the task id. `extra`: the extensions of the
    payload (human_question, cost)."""
    return {
        "type": STATUS_UPDATE,
        "timestamp": iso(at),
        "payload": {
            "session_id": task_id,
            "task_id": task_id,
            "status": WEBHOOK_STATUS[TaskStatus(status)],
            "metadata": metadata or {},
            **(extra or {}),
        },
    }


def record_status(session: Session, task_id: str, status: TaskStatus | str) -> None:
    """Call in the transaction that changed the task's status, before its commit. A paused
    event carries the question the task waits on (or null), a final one the task's cost."""
    row = session.execute(  # columns, not the Task: a Task already in the session may predate the change
        sa_select(
            col(Task.owner_id),
            col(Task.task_metadata),
            col(Task.llm_model),
            col(Task.input_tokens),
            col(Task.output_tokens),
            col(Task.human_question),
        )
        .join(Webhook, Webhook.owner_id == Task.owner_id)  # type: ignore[arg-type]
        .where(col(Task.id) == task_id)
    ).one_or_none()
    if row is None:
        return
    owner_id, metadata, llm_model, input_tokens, output_tokens, question = row
    status = TaskStatus(status)
    extra: dict[str, Any] = {}
    if status == TaskStatus.paused:
        extra["human_question"] = question
    if status in FINAL_STATUSES:
        extra["cost"] = task_cost(llm_model, input_tokens, output_tokens).as_dict()
    _add(session, owner_id, task_id, status.value, metadata, extra)


def record_new_task(session: Session, task: Task) -> None:
    """For a task being inserted in this session (not yet flushed)."""
    if session.get(Webhook, task.owner_id) is not None:
        _add(session, task.owner_id, task.id, task.status.value, task.task_metadata)


def _add(
    session: Session,
    owner_id: str,
    task_id: str,
    status: str,
    metadata: dict[str, str] | None,
    extra: dict[str, Any] | None = None,
) -> None:
    now = utcnow()
    session.add(
        WebhookDelivery(
            owner_id=owner_id,
            event_type=STATUS_UPDATE,
            task_id=task_id,
            task_status=status,
            body=status_body(task_id, status, metadata, now, extra),
            created_at=now,
            next_attempt_at=now,
        )
    )


def record_test(session: Session, owner_id: str) -> WebhookDelivery:
    """The event a newly set URL receives first."""
    now = utcnow()
    delivery = WebhookDelivery(
        owner_id=owner_id,
        event_type=TEST,
        body={"type": TEST, "timestamp": iso(now), "payload": {"test": "ok"}},
        created_at=now,
        next_attempt_at=now,
    )
    session.add(delivery)
    return delivery

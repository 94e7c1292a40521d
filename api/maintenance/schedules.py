"""The dispatcher of scheduled tasks, run by the maintenance loop of every API
process. A due run is claimed with one guarded UPDATE of the schedule's
`next_run_at` (only the process whose UPDATE matched goes on), and its task is
inserted in that same transaction: each run happens exactly once, however many
dispatchers there are. A run that falls due while the schedule's previous task
is still unfinished is skipped and counted, never piled up."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from fastapi import HTTPException
from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import Session, col, select

from api.intake import new_task
from api.schedule_times import Timing, next_after
from api.schemas import RunTaskRequest
from shared.crypto import decrypt_json
from shared.db import as_utc, session_scope
from shared.dispatch import dispatch
from shared.models import FINAL_STATUSES, ScheduledTask, Task, utcnow
from shared.row_jobs import isolated, reason_of
from shared.webhooks.outbox import record_new_task

log = logging.getLogger("browserq.scheduler")


def timing_of(schedule: ScheduledTask) -> Timing:
    return Timing(
        schedule.schedule_type, schedule.interval_minutes, schedule.cron_expression, schedule.start_at, schedule.end_at
    )


def run_due(now: datetime | None = None, limit: int = 100) -> list[str]:
    """Start every run due at `now` (default: the clock); returns the new tasks' ids."""
    now = now or utcnow()
    with session_scope() as session:
        due = session.exec(
            select(ScheduledTask.id)
            .where(col(ScheduledTask.is_active).is_(True), col(ScheduledTask.next_run_at) <= now)
            .order_by(col(ScheduledTask.next_run_at))
            .limit(limit)
        ).all()
    started = []
    for schedule_id in due:  # one at a time: a schedule that fails is set aside, the others still run
        task_id = isolated(
            "schedules", schedule_id, partial(_run_one, schedule_id, now), partial(_set_aside, schedule_id, now)
        )
        if task_id:
            started.append(task_id)
    for task_id in started:
        dispatch(task_id)  # broker down: the maintenance loop sends it later
    return started


def _run_one(schedule_id: str, now: datetime) -> str | None:
    with session_scope() as session:
        schedule = session.get(ScheduledTask, schedule_id)
        if schedule is None or not _claim(session, schedule, now):
            return None  # another dispatcher took this run, or it changed meanwhile
        reason = _previous_unfinished(session, schedule)
        task = None
        if reason is None:
            task, reason = _build(session, schedule)
        if task is None:
            log.info("scheduled task %s: run skipped: %s", schedule_id, reason)
            session.execute(
                update(ScheduledTask)
                .where(col(ScheduledTask.id) == schedule_id)
                .values(skipped_count=ScheduledTask.skipped_count + 1, last_skipped_at=now, last_skip_reason=reason)
            )
            return None
        session.add(task)
        record_new_task(session, task)
        session.execute(
            update(ScheduledTask)
            .where(col(ScheduledTask.id) == schedule_id)
            .values(run_count=ScheduledTask.run_count + 1, last_task_id=task.id)
        )
        return task.id


def _set_aside(schedule_id: str, now: datetime, exc: Exception) -> None:
    """This run could not be stored: count it as skipped, say why to the schedule's owner,
    and move the schedule on to its next time (or end it when its timing fails too)."""
    with session_scope() as session:
        schedule = session.get(ScheduledTask, schedule_id)
        if schedule is None:
            return
        try:
            following = next_after(timing_of(schedule), now)
        except Exception:
            following = None
        reason = f"the run could not be stored ({reason_of(exc)}); fix or recreate the schedule"
        session.execute(
            update(ScheduledTask)
            .where(col(ScheduledTask.id) == schedule_id)
            .values(
                next_run_at=following,
                is_active=following is not None,
                last_run_at=now,
                skipped_count=ScheduledTask.skipped_count + 1,
                last_skipped_at=now,
                last_skip_reason=reason,
            )
        )


def _claim(session: Session, schedule: ScheduledTask, now: datetime) -> bool:
    """Move next_run_at on, guarded by the value this process read."""
    due_at = schedule.next_run_at
    if not schedule.is_active or due_at is None or as_utc(due_at) > now:  # type: ignore[operator]
        return False
    following = next_after(timing_of(schedule), now)
    result = session.execute(
        update(ScheduledTask)
        .where(
            col(ScheduledTask.id) == schedule.id,
            col(ScheduledTask.is_active).is_(True),
            col(ScheduledTask.next_run_at) == due_at,
        )
        .values(next_run_at=following, is_active=following is not None, last_run_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _previous_unfinished(session: Session, schedule: ScheduledTask) -> str | None:
    if not schedule.last_task_id:
        return None
    status = session.exec(select(col(Task.status)).where(Task.id == schedule.last_task_id)).one_or_none()
    if status is None or status in FINAL_STATUSES:
        return None
    return f"the previous run (task {schedule.last_task_id}) was still {status.value}"


def _build(session: Session, schedule: ScheduledTask) -> tuple[Task | None, str | None]:
    """The run's task, made by the same code as POST /run-task; or why it cannot start."""
    try:
        secrets = decrypt_json(schedule.secrets_encrypted) if schedule.secrets_encrypted else None
        body = RunTaskRequest.model_validate({**schedule.request, "secrets": secrets})
        return new_task(body, session, schedule.owner_id), None
    except HTTPException as exc:
        detail = exc.detail if isinstance(exc.detail, str) else "; ".join(d.get("msg", "") for d in exc.detail)
        return None, f"the task could not start: {detail}"
    except ValidationError as exc:
        return None, f"the stored request is no longer valid: {exc.errors()[0]['msg']}"
    except Exception as exc:  # e.g. the secret key changed and the secrets no longer decrypt
        return None, f"the task could not start: {exc}"

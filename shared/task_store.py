"""Every state change of a task, each one atomic UPDATE guarded by what the
row must look like. The API, the worker and the maintenance loop all go
through here, so a late worker can never overwrite a task that was stopped or
taken back meanwhile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import CursorResult, Update, and_, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from shared import running_cap
from shared.models import FINAL_STATUSES, Step, Task, TaskStatus, utcnow
from shared.row_jobs import isolated
from shared.settings import get_settings
from shared.webhooks.outbox import record_status

# Every status change below calls record_status before its commit: the webhook
# event is written in the same transaction as the change (exactly one per change).

ACTIVE = (TaskStatus.running, TaskStatus.paused)


@dataclass(frozen=True)
class Lease:
    """What a worker holds while it runs a task: the attempt is the fencing token."""

    task_id: str
    attempt: int
    worker_id: str


# ---- worker side -----------------------------------------------------------


def claim(session: Session, task_id: str, worker_id: str, max_running: int | None = None) -> Lease | None:
    """created -> running, in one UPDATE; None if someone else has it, it was stopped,
    or its key is at its cap of running tasks (then it waits, see shared/running_cap.py)."""
    now = utcnow()
    cap = get_settings().max_running_tasks_per_key if max_running is None else max_running
    if running_cap.at_cap(session, task_id, cap):
        running_cap.mark_capped(session, task_id)
        session.commit()
        return None
    result = _run_update(
        session,
        update(Task)
        .where(col(Task.id) == task_id, col(Task.status) == TaskStatus.created)
        .values(
            status=TaskStatus.running,
            worker_id=worker_id,
            attempt=Task.attempt + 1,
            heartbeat_at=now,
            started_at=func.coalesce(Task.started_at, now),
        ),
    )
    if result.rowcount == 1:
        record_status(session, task_id, TaskStatus.running)
    session.commit()
    if result.rowcount != 1:
        return None
    attempt = session.exec(select(Task.attempt).where(Task.id == task_id)).one()
    return Lease(task_id, attempt, worker_id)


def _run_update(session: Session, statement: Update) -> CursorResult[Any]:
    """Runs an UPDATE; its result counts the rows it changed (sqlmodel types every
    execute() result as a plain Result, which has no rowcount)."""
    return cast(CursorResult[Any], session.execute(statement))


def _held(lease: Lease) -> list:
    return [
        col(Task.id) == lease.task_id,
        col(Task.attempt) == lease.attempt,
        col(Task.worker_id) == lease.worker_id,
        col(Task.status).in_(ACTIVE),
    ]


def heartbeat(session: Session, lease: Lease) -> TaskStatus | None:
    """Renew the lease; returns the task's status, or None when the lease is lost."""
    result = _run_update(session, update(Task).where(*_held(lease)).values(heartbeat_at=utcnow()))
    session.commit()
    if result.rowcount != 1:
        return None
    return session.exec(select(col(Task.status)).where(Task.id == lease.task_id)).one()


def current_status(session: Session, lease: Lease) -> TaskStatus | None:
    """The task's status if this lease still holds it, else None."""
    row = session.exec(
        select(col(Task.status), col(Task.attempt), col(Task.worker_id)).where(Task.id == lease.task_id)
    ).one_or_none()
    if row is None or row[1] != lease.attempt or row[2] != lease.worker_id:
        return None
    return row[0] if row[0] in ACTIVE else None


def next_step_number(session: Session, task_id: str) -> int:
    last = session.exec(select(func.max(Step.step)).where(Step.task_id == task_id)).one()
    return (last or 0) + 1


def record_step(session: Session, lease: Lease, step: Step, input_tokens: int, output_tokens: int) -> bool:
    """Write one finished step, only while the lease holds. False: the lease is lost."""
    result = _run_update(
        session,
        update(Task)
        .where(*_held(lease))
        .values(
            heartbeat_at=utcnow(),
            input_tokens=Task.input_tokens + input_tokens,
            output_tokens=Task.output_tokens + output_tokens,
        ),
    )
    if result.rowcount != 1:
        session.rollback()
        return False
    session.add(step)
    session.commit()
    return True


def finish(session: Session, lease: Lease, status: TaskStatus, output: str | None, **extra: object) -> bool:
    """Compare-and-set to a final status; False if the task was stopped or reaped meanwhile."""
    assert status in FINAL_STATUSES
    result = _run_update(
        session,
        update(Task)
        .where(*_held(lease))
        .values(status=status, output=output, finished_at=utcnow(), human_question=None, **extra),
    )
    if result.rowcount == 1:
        record_status(session, lease.task_id, status)
    session.commit()
    return result.rowcount == 1


def release(session: Session, lease: Lease) -> bool:
    """Hand a task back for another attempt now, rather than after its lease runs
    out: the worker is shutting down or its browser crashed. running -> created
    (the dispatcher sends it again); a paused task stays paused, unowned."""
    result = _run_update(
        session,
        update(Task)
        .where(*_held(lease), col(Task.status) == TaskStatus.running)
        .values(status=TaskStatus.created, worker_id=None, enqueued_at=None),
    )
    released_to_queue = result.rowcount == 1
    if not released_to_queue:
        result = _run_update(
            session, update(Task).where(*_held(lease), col(Task.status) == TaskStatus.paused).values(worker_id=None)
        )
    if result.rowcount == 1 and released_to_queue:
        record_status(session, lease.task_id, TaskStatus.created)
    session.commit()
    return result.rowcount == 1


def ask_human(session: Session, lease: Lease, question: str) -> bool:
    """The agent asks a person: the task waits paused, showing the question, until
    it is answered (or resumed); False when the lease is lost."""
    result = _run_update(
        session,
        update(Task)
        .where(*_held(lease))
        .values(status=TaskStatus.paused, paused_at=utcnow(), human_question=question, human_answer_encrypted=None),
    )
    if result.rowcount == 1:
        record_status(session, lease.task_id, TaskStatus.paused)
    session.commit()
    return result.rowcount == 1


@dataclass(frozen=True)
class HumanReply:
    """Where a question stands: still `waiting`, or over with the answer given (encrypted;
    None when a person resumed the task without answering)."""

    waiting: bool
    answer_encrypted: str | None = None


def take_answer(session: Session, lease: Lease) -> HumanReply | None:
    """The answer to the agent's question, taken off the row (it is handed over once);
    None when the lease is lost."""
    row = session.execute(
        sa_select(
            col(Task.status),
            col(Task.attempt),
            col(Task.worker_id),
            col(Task.human_question),
            col(Task.human_answer_encrypted),
        ).where(col(Task.id) == lease.task_id)
    ).one_or_none()
    if row is None or (row[1], row[2]) != (lease.attempt, lease.worker_id) or row[0] not in ACTIVE:
        return None
    status, _, _, question, answer = row
    if status == TaskStatus.paused and question is not None:
        return HumanReply(waiting=True)
    if answer is not None:
        session.execute(
            update(Task)
            .where(*_held(lease), col(Task.human_answer_encrypted) == answer)
            .values(human_answer_encrypted=None)
        )
        session.commit()
    return HumanReply(waiting=False, answer_encrypted=answer)


def take_pending_answer(session: Session, lease: Lease) -> str | None:
    """At the start of an attempt: an answer given while no worker held the task (encrypted)."""
    reply = take_answer(session, lease)
    return reply.answer_encrypted if reply is not None and not reply.waiting else None


def recorded_steps(session: Session, task_id: str) -> list[Step]:
    """A task's recorded steps, in order: what the API shows, what a replay follows, and what
    a new attempt continues from."""
    return list(session.exec(select(Step).where(Step.task_id == task_id).order_by(col(Step.step))).all())


# ---- API side --------------------------------------------------------------


def request_stop(session: Session, task: Task, output: str = "Stopped by the user.") -> bool:
    result = _run_update(
        session,
        update(Task)
        .where(col(Task.id) == task.id, col(Task.status).in_((TaskStatus.created, *ACTIVE)))
        .values(
            status=TaskStatus.stopped,
            finished_at=utcnow(),
            output=func.coalesce(Task.output, output),
            human_question=None,
        ),
    )
    if result.rowcount == 1:
        record_status(session, task.id, TaskStatus.stopped)
    session.commit()
    return result.rowcount == 1


def request_pause(session: Session, task: Task) -> bool:
    result = _run_update(
        session,
        update(Task)
        .where(col(Task.id) == task.id, col(Task.status).in_((TaskStatus.created, TaskStatus.running)))
        .values(status=TaskStatus.paused, paused_at=utcnow()),
    )
    if result.rowcount == 1:
        record_status(session, task.id, TaskStatus.paused)
    session.commit()
    return result.rowcount == 1


def request_resume(session: Session, task: Task) -> TaskStatus | None:
    """paused -> running when a worker holds it, else back to created (to be enqueued)."""
    now = utcnow()
    result = _run_update(
        session,
        update(Task)
        .where(col(Task.id) == task.id, col(Task.status) == TaskStatus.paused, col(Task.worker_id).is_not(None))
        .values(status=TaskStatus.running, paused_at=None, heartbeat_at=now, human_question=None),
    )
    if result.rowcount != 1:
        result = _run_update(
            session,
            update(Task)
            .where(col(Task.id) == task.id, col(Task.status) == TaskStatus.paused, col(Task.worker_id).is_(None))
            .values(status=TaskStatus.created, paused_at=None, enqueued_at=None, human_question=None),
        )
    if result.rowcount != 1:
        session.commit()
        return None
    new_status = session.exec(select(col(Task.status)).where(Task.id == task.id)).one()
    record_status(session, task.id, new_status)
    session.commit()
    return new_status


def answer(session: Session, task: Task, answer_encrypted: str, **columns: object) -> TaskStatus | None:
    """A person answers the agent's question: paused -> running with the answer for the worker
    that holds the task, or -> created (to be enqueued) when none does. None when the task is
    not waiting for an answer. `columns`: more to set with it (a secret answer's secrets)."""
    waiting = [col(Task.id) == task.id, col(Task.status) == TaskStatus.paused, col(Task.human_question).is_not(None)]
    values = {"paused_at": None, "human_question": None, "human_answer_encrypted": answer_encrypted, **columns}
    result = _run_update(
        session,
        update(Task)
        .where(*waiting, col(Task.worker_id).is_not(None))
        .values(status=TaskStatus.running, heartbeat_at=utcnow(), **values),
    )
    if result.rowcount != 1:
        result = _run_update(
            session,
            update(Task)
            .where(*waiting, col(Task.worker_id).is_(None))
            .values(status=TaskStatus.created, enqueued_at=None, **values),
        )
    if result.rowcount != 1:
        session.rollback()
        return None
    new_status = session.exec(select(col(Task.status)).where(Task.id == task.id)).one()
    record_status(session, task.id, new_status)
    session.commit()
    return new_status


def mark_enqueued(session: Session, task_id: str) -> None:
    session.execute(update(Task).where(col(Task.id) == task_id).values(enqueued_at=utcnow()))
    session.commit()


# ---- maintenance -----------------------------------------------------------


@dataclass
class ReapResult:
    requeued: list[str]
    failed: list[str]
    released: list[str]


def reap(session: Session, lease_seconds: float, max_attempts: int) -> ReapResult:
    """Take back tasks whose worker stopped renewing its lease."""
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    stale = session.exec(
        select(Task.id, Task.status, Task.attempt, Task.worker_id).where(
            col(Task.status).in_(ACTIVE), col(Task.worker_id).is_not(None), col(Task.heartbeat_at) < cutoff
        )
    ).all()
    out = ReapResult([], [], [])
    for task_id, status, attempt, worker_id in stale:
        guard = [
            col(Task.id) == task_id,
            col(Task.attempt) == attempt,
            col(Task.worker_id) == worker_id,
            col(Task.status) == status,
            col(Task.heartbeat_at) < cutoff,
        ]
        values: dict[str, Any]
        if status == TaskStatus.paused:
            values, bucket = {"worker_id": None}, out.released
        elif attempt < max_attempts:
            values = {"status": TaskStatus.created, "worker_id": None, "enqueued_at": None}
            bucket = out.requeued
        else:
            values = {
                "status": TaskStatus.failed,
                "finished_at": utcnow(),
                "output": f"The worker running this task was lost {attempt} times "
                f"(no heartbeat for {lease_seconds:.0f} s); giving up after {max_attempts} attempts.",
            }
            bucket = out.failed
        # One row per commit: a row that fails is rolled back alone (logged, counted), the rest go on.
        if isolated(
            "reaper", task_id, partial(_take_back, session, task_id, guard, values), lambda _exc: session.rollback()
        ):
            bucket.append(task_id)
    return out


def _take_back(session: Session, task_id: str, guard: list, values: dict) -> bool:
    taken = _run_update(session, update(Task).where(*guard).values(**values)).rowcount == 1
    if taken and "status" in values:
        record_status(session, task_id, values["status"])
    session.commit()
    return taken


def expire_pauses(session: Session, max_pause_seconds: float) -> list[str]:
    """Paused for too long: stopped, with an output that says why."""
    cutoff = utcnow() - timedelta(seconds=max_pause_seconds)
    ids = session.exec(select(Task.id).where(col(Task.status) == TaskStatus.paused, col(Task.paused_at) < cutoff)).all()
    done = []
    for task_id in ids:
        result = _run_update(
            session,
            update(Task)
            .where(col(Task.id) == task_id, col(Task.status) == TaskStatus.paused, col(Task.paused_at) < cutoff)
            .values(
                status=TaskStatus.stopped,
                finished_at=utcnow(),
                output=f"Stopped: the task stayed paused longer than the limit of {max_pause_seconds:.0f} s.",
                human_question=None,
            ),
        )
        if result.rowcount == 1:
            done.append(task_id)
            record_status(session, task_id, TaskStatus.stopped)
    session.commit()
    return done


def due_for_dispatch(session: Session, requeue_after_seconds: float, limit: int = 500) -> list[str]:
    """Tasks stored but never enqueued (the broker was down), or enqueued long ago
    and never claimed (a lost message)."""
    now = utcnow()
    cutoff = now - timedelta(seconds=requeue_after_seconds)
    # A task just stored is being enqueued by its request: give that a moment.
    fresh = now - timedelta(seconds=2)
    return list(
        session.exec(
            select(Task.id)
            .where(
                col(Task.status) == TaskStatus.created,
                or_(
                    and_(col(Task.enqueued_at).is_(None), col(Task.created_at) < fresh),
                    col(Task.enqueued_at) < cutoff,
                ),
            )
            .order_by(col(Task.created_at))
            .limit(limit)
        ).all()
    )

"""Every state change of a task, each one atomic UPDATE guarded by what the
row must look like. The API, the worker and the maintenance loop all go
through here, so a late worker can never overwrite a task that was stopped or
taken back meanwhile."""

from __future__ import annotations

from collections.abc import Collection
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

ACTIVE = (TaskStatus.running, TaskStatus.paused)

# The moves a task's status may make; `_move` is the only writer of `Task.status` and
# refuses anything not listed (tests/integration/test_status_moves.py keeps it so).
# A final status has no way out.
MOVES: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.created: frozenset(
        {
            TaskStatus.running,  # a worker claims it
            TaskStatus.paused,  # paused before any worker took it
            TaskStatus.stopped,  # stopped before any worker took it
        }
    ),
    TaskStatus.running: frozenset(
        {
            TaskStatus.finished,
            TaskStatus.failed,
            TaskStatus.stopped,  # the worker's end, or a person's stop
            TaskStatus.paused,  # a person's pause, or the agent asks a person
            TaskStatus.created,  # handed back: the worker shuts down, its browser crashed, its lease ran out
        }
    ),
    TaskStatus.paused: frozenset(
        {
            TaskStatus.paused,  # the agent asks a person while paused: the question is the new event's news
            TaskStatus.running,  # resumed or answered, a worker holds it
            TaskStatus.created,  # resumed or answered, no worker holds it: enqueued again
            TaskStatus.finished,
            TaskStatus.failed,
            TaskStatus.stopped,  # the worker's end while paused, a person's stop, or paused too long
        }
    ),
    TaskStatus.finished: frozenset(),
    TaskStatus.failed: frozenset(),
    TaskStatus.stopped: frozenset(),
}


def _move(session: Session, task_id: str, to: TaskStatus, where: list[Any], **values: Any) -> bool:
    """One status move, guarded by `where` (what the row must look like) and by MOVES,
    with its webhook event written in the same transaction (exactly one per move).
    The caller commits. False: the row was not in a state this move may leave."""
    sources = [status for status, targets in MOVES.items() if to in targets]
    statement = update(Task).where(*where, col(Task.status).in_(sources)).values(status=to, **values)
    moved = _run_update(session, statement).rowcount == 1
    if moved:
        record_status(session, task_id, to)
    return moved


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
    claimed = _move(
        session,
        task_id,
        TaskStatus.running,
        [col(Task.id) == task_id, col(Task.status) == TaskStatus.created],
        worker_id=worker_id,
        attempt=Task.attempt + 1,
        heartbeat_at=now,
        started_at=func.coalesce(Task.started_at, now),
    )
    session.commit()
    if not claimed:
        return None
    attempt = session.exec(select(Task.attempt).where(Task.id == task_id)).one()
    return Lease(task_id, attempt, worker_id)


def _run_update(session: Session, statement: Update) -> CursorResult[Any]:
    """Runs an UPDATE; its result counts the rows it changed (sqlmodel types every
    execute() result as a plain Result, which has no rowcount)."""
    return cast(CursorResult[Any], session.execute(statement))


def _held(lease: Lease) -> list[Any]:
    return [
        col(Task.id) == lease.task_id,
        col(Task.attempt) == lease.attempt,
        col(Task.worker_id) == lease.worker_id,
        col(Task.status).in_(ACTIVE),
    ]


def heartbeat(session: Session, leases: Collection[Lease]) -> None:
    """Renew every one of `leases` that still holds its task, in one UPDATE."""
    if leases:
        _run_update(
            session, update(Task).where(or_(*(and_(*_held(lease)) for lease in leases))).values(heartbeat_at=utcnow())
        )
        session.commit()


def current_statuses(session: Session, leases: Collection[Lease]) -> dict[Lease, TaskStatus | None]:
    """`current_status` of many leases in one read (a worker process's running tasks)."""
    if not leases:
        return {}
    rows = session.exec(
        select(col(Task.id), col(Task.status), col(Task.attempt), col(Task.worker_id)).where(
            col(Task.id).in_({lease.task_id for lease in leases})
        )
    ).all()
    found = {row[0]: row[1:] for row in rows}
    return {lease: _status_under(lease, found.get(lease.task_id)) for lease in leases}


def current_status(session: Session, lease: Lease) -> TaskStatus | None:
    """The task's status if this lease still holds it, else None."""
    row = session.exec(
        select(col(Task.status), col(Task.attempt), col(Task.worker_id)).where(Task.id == lease.task_id)
    ).one_or_none()
    return _status_under(lease, row)


def _status_under(lease: Lease, row: Any) -> TaskStatus | None:
    """A (status, attempt, worker_id) row's status while `lease` holds the task, else None."""
    if row is None or row[1] != lease.attempt or row[2] != lease.worker_id:
        return None
    return cast(TaskStatus, row[0]) if row[0] in ACTIVE else None


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
    done = _move(
        session,
        lease.task_id,
        status,
        _held(lease),
        output=output,
        finished_at=utcnow(),
        human_question=None,
        **extra,
    )
    session.commit()
    return done


def release(session: Session, lease: Lease) -> bool:
    """Hand a task back for another attempt now, rather than after its lease runs
    out: the worker is shutting down or its browser crashed. running -> created
    (the dispatcher sends it again); a paused task stays paused, unowned."""
    released = _move(
        session,
        lease.task_id,
        TaskStatus.created,
        [*_held(lease), col(Task.status) == TaskStatus.running],
        worker_id=None,
        enqueued_at=None,
    )
    if not released:  # no move: a paused task only loses its worker
        statement = update(Task).where(*_held(lease), col(Task.status) == TaskStatus.paused).values(worker_id=None)
        released = _run_update(session, statement).rowcount == 1
    session.commit()
    return released


def ask_human(session: Session, lease: Lease, question: str) -> bool:
    """The agent asks a person: the task waits paused, showing the question, until
    it is answered (or resumed); False when the lease is lost."""
    asked = _move(
        session,
        lease.task_id,
        TaskStatus.paused,
        _held(lease),
        paused_at=utcnow(),
        human_question=question,
        human_answer_encrypted=None,
    )
    session.commit()
    return asked


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
    stopped = _move(
        session,
        task.id,
        TaskStatus.stopped,
        [col(Task.id) == task.id],
        finished_at=utcnow(),
        output=func.coalesce(Task.output, output),
        human_question=None,
    )
    session.commit()
    return stopped


def request_pause(session: Session, task: Task) -> bool:
    where = [col(Task.id) == task.id, col(Task.status).in_((TaskStatus.created, TaskStatus.running))]
    paused = _move(session, task.id, TaskStatus.paused, where, paused_at=utcnow())
    session.commit()
    return paused


def request_resume(session: Session, task: Task) -> TaskStatus | None:
    """paused -> running when a worker holds it, else back to created (to be enqueued)."""
    paused = [col(Task.id) == task.id, col(Task.status) == TaskStatus.paused]
    cleared = {"paused_at": None, "human_question": None}
    if _move(
        session,
        task.id,
        TaskStatus.running,
        [*paused, col(Task.worker_id).is_not(None)],
        heartbeat_at=utcnow(),
        **cleared,
    ):
        new_status: TaskStatus | None = TaskStatus.running
    elif _move(
        session, task.id, TaskStatus.created, [*paused, col(Task.worker_id).is_(None)], enqueued_at=None, **cleared
    ):
        new_status = TaskStatus.created
    else:
        new_status = None
    session.commit()
    return new_status


def answer(session: Session, task: Task, answer_encrypted: str, **columns: object) -> TaskStatus | None:
    """A person answers the agent's question: paused -> running with the answer for the worker
    that holds the task, or -> created (to be enqueued) when none does. None when the task is
    not waiting for an answer. `columns`: more to set with it (a secret answer's secrets)."""
    waiting = [col(Task.id) == task.id, col(Task.status) == TaskStatus.paused, col(Task.human_question).is_not(None)]
    values = {"paused_at": None, "human_question": None, "human_answer_encrypted": answer_encrypted, **columns}
    if _move(
        session,
        task.id,
        TaskStatus.running,
        [*waiting, col(Task.worker_id).is_not(None)],
        heartbeat_at=utcnow(),
        **values,
    ):
        new_status = TaskStatus.running
    elif _move(
        session, task.id, TaskStatus.created, [*waiting, col(Task.worker_id).is_(None)], enqueued_at=None, **values
    ):
        new_status = TaskStatus.created
    else:
        session.rollback()
        return None
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
        to: TaskStatus | None
        if status == TaskStatus.paused:
            to, values, bucket = None, {"worker_id": None}, out.released
        elif attempt < max_attempts:
            to, values = TaskStatus.created, {"worker_id": None, "enqueued_at": None}
            bucket = out.requeued
        else:
            to = TaskStatus.failed
            values = {
                "finished_at": utcnow(),
                "output": f"The worker running this task was lost {attempt} times "
                f"(no heartbeat for {lease_seconds:.0f} s); giving up after {max_attempts} attempts.",
            }
            bucket = out.failed
        # One row per commit: a row that fails is rolled back alone (logged, counted), the rest go on.
        if isolated(
            "reaper", task_id, partial(_take_back, session, task_id, to, guard, values), lambda _exc: session.rollback()
        ):
            bucket.append(task_id)
    return out


def _take_back(session: Session, task_id: str, to: TaskStatus | None, guard: list[Any], values: dict[str, Any]) -> bool:
    """`to`: the status it moves to, or None when it only loses its worker (a paused task)."""
    if to is not None:
        taken = _move(session, task_id, to, guard, **values)
    else:
        taken = _run_update(session, update(Task).where(*guard).values(**values)).rowcount == 1
    session.commit()
    return taken


def expire_pauses(session: Session, max_pause_seconds: float) -> list[str]:
    """Paused for too long: stopped, with an output that says why."""
    cutoff = utcnow() - timedelta(seconds=max_pause_seconds)
    ids = session.exec(select(Task.id).where(col(Task.status) == TaskStatus.paused, col(Task.paused_at) < cutoff)).all()
    done = []
    for task_id in ids:
        if _move(
            session,
            task_id,
            TaskStatus.stopped,
            [col(Task.id) == task_id, col(Task.status) == TaskStatus.paused, col(Task.paused_at) < cutoff],
            finished_at=utcnow(),
            output=f"Stopped: the task stayed paused longer than the limit of {max_pause_seconds:.0f} s.",
            human_question=None,
        ):
            done.append(task_id)
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

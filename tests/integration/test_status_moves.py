"""A task's status moves only as shared/task_store.MOVES declares, each move writing
exactly one webhook event in its transaction; and nothing else writes a status.
Against a real PostgreSQL database (a fresh one for this module)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from shared import task_store
from shared.db import engine_for
from shared.keys import create_api_key
from shared.models import FINAL_STATUSES, Task, TaskStatus, Webhook, WebhookDelivery
from tests.support.database import migrated_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    with migrated_database() as db_url:
        try:
            with Session(engine_for(db_url), expire_on_commit=False) as s:
                yield s
        finally:
            engine_for(db_url).dispose()


def _task(session: Session) -> Task:
    key, _clear = create_api_key(session, "moves")
    session.add(Webhook(owner_id=key.id, url="http://127.0.0.1:9/hook", secret_encrypted="x"))
    task = Task(owner_id=key.id, task="t")
    session.add(task)
    session.commit()
    return task


def _events(session: Session, task_id: str) -> list[str]:
    rows = session.exec(
        select(WebhookDelivery.task_status)
        .where(WebhookDelivery.task_id == task_id)
        .order_by(col(WebhookDelivery.created_at))
    ).all()
    return [str(r) for r in rows]


def _status(session: Session, task_id: str) -> TaskStatus:
    return session.exec(select(col(Task.status)).where(Task.id == task_id)).one()


def test_final_statuses_have_no_way_out_and_every_status_is_declared() -> None:
    assert set(task_store.MOVES) == set(TaskStatus)
    for status in FINAL_STATUSES:
        assert task_store.MOVES[status] == frozenset()


def test_a_life_of_moves_each_with_one_event(session: Session) -> None:
    task = _task(session)
    lease = task_store.claim(session, task.id, "w1", max_running=0)
    assert lease is not None and _status(session, task.id) == TaskStatus.running
    assert task_store.ask_human(session, lease, "the code?")
    assert task_store.ask_human(session, lease, "the code, again?")  # paused -> paused is declared
    assert task_store.request_resume(session, task) == TaskStatus.running
    assert task_store.release(session, lease)  # handed back: running -> created
    assert task_store.claim(session, task.id, "w2", max_running=0) is not None
    lease2 = task_store.Lease(task.id, 2, "w2")
    assert task_store.finish(session, lease2, TaskStatus.finished, "done")
    assert _events(session, task.id) == ["running", "paused", "paused", "running", "created", "running", "finished"]


def test_a_final_task_refuses_every_move_and_records_nothing(session: Session) -> None:
    task = _task(session)
    assert task_store.request_stop(session, task)
    before = _events(session, task.id)
    assert before == ["stopped"]
    assert task_store.claim(session, task.id, "w1", max_running=0) is None
    assert not task_store.request_pause(session, task)
    assert task_store.request_resume(session, task) is None
    assert not task_store.request_stop(session, task)
    assert task_store.answer(session, task, "enc") is None
    # The one writer itself refuses an undeclared move, whatever the caller's guard says.
    assert not task_store._move(session, task.id, TaskStatus.running, [col(Task.id) == task.id])
    session.commit()
    assert _status(session, task.id) == TaskStatus.stopped
    assert _events(session, task.id) == before


def test_no_code_but_the_one_move_function_writes_a_status() -> None:
    """An UPDATE's .values(status=...) anywhere else, or a Task.status assignment, would be a
    move that skips the table and its webhook event."""
    offenders = []
    for package in ("api", "worker", "shared", "cli"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and node.name == "_move" and path.name == "task_store.py":
                    node.body = []  # the one writer
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "values"
                    and any(k.arg == "status" for k in node.keywords)
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_every_control_request_of_the_api_goes_through_task_control() -> None:
    """Stop, pause, resume and answer decide their dispatch and their 409 in one module."""
    control = {"request_stop", "request_pause", "request_resume", "answer"}
    callers = []
    for path in (ROOT / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in control
                and isinstance(node.value, ast.Name)
                and node.value.id == "task_store"
            ):
                callers.append(str(path.relative_to(ROOT)))
    assert set(callers) == {"api/task_control.py"}

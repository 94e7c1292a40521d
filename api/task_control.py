"""Stop, pause, resume, and answer the agent's question, for the caller's own task:
the wish is recorded in the database (shared/task_store.py) and the worker running the
task checks it between actions and while it waits for the model (or for the answer).
Every control request comes here: the v1 routes (api/routes/control.py), v2's
PATCH /tasks/{id}, the live page's answer box and take-control button, and search's
stop at its deadline. A transition the task's status does not allow is a 409."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, status
from sqlmodel import Session

from api.owned import NOT_FOUND, get_owned_task
from api.schemas import AnswerRequest, Empty, ErrorDetail
from shared import human_answer, task_store
from shared.dispatch import dispatch
from shared.models import Task, TaskStatus

RESPONSES = {**NOT_FOUND, 409: {"model": ErrorDetail, "description": "Transition not allowed"}}


def _conflict(task: Task, verb: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, f"Cannot {verb} a task that is {task.status.value}")


def _request(session: Session, owner_id: str, task_id: str, verb: str, wish: Callable[[Session, Task], bool]) -> Empty:
    """Record the wish (stop, pause) when the task's status allows it; else a 409."""
    task = get_owned_task(session, owner_id, task_id)
    if not wish(session, task):
        session.refresh(task)
        raise _conflict(task, verb)
    return Empty()


def stop(session: Session, owner_id: str, task_id: str, output: str = "Stopped by the user.") -> Empty:
    """`output`: what a task stopped with no output of its own says."""
    return _request(session, owner_id, task_id, "stop", lambda s, task: task_store.request_stop(s, task, output))


def pause(session: Session, owner_id: str, task_id: str) -> Empty:
    return _request(session, owner_id, task_id, "pause", task_store.request_pause)


def take_control(session: Session, owner_id: str, task_id: str) -> Empty:
    """A person takes the page over (the live view): the task pauses, or stays paused."""
    task = get_owned_task(session, owner_id, task_id)
    if task.status != TaskStatus.paused and not task_store.request_pause(session, task):
        session.refresh(task)
        raise _conflict(task, "take control of")
    return Empty()


def resume(session: Session, owner_id: str, task_id: str) -> Empty:
    task = get_owned_task(session, owner_id, task_id)
    new_status = task_store.request_resume(session, task)
    if new_status is None:
        session.refresh(task)
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"Cannot resume a task that is {task.status.value}: only paused tasks resume"
        )
    if new_status == TaskStatus.created:
        dispatch(task_id)
    return Empty()


def answer(session: Session, owner_id: str, task_id: str, body: AnswerRequest) -> Empty:
    """The answer to the agent's ask_human question; the task runs on with it."""
    task = get_owned_task(session, owner_id, task_id)
    sealed, columns = human_answer.seal(task, body.answer, body.secret)
    new_status = task_store.answer(session, task, sealed, **columns)
    if new_status is None:
        session.refresh(task)
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"Task {task_id} is {task.status.value} and not waiting for an answer: answer only while its "
            "human_question is set (GET /task/{task_id})",
        )
    if new_status == TaskStatus.created:
        dispatch(task_id)
    return Empty()

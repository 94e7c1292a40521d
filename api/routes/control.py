"""Stop, pause, resume, and answer the agent's question. The wish is recorded in
the database; the worker running the task checks it between actions and while
it waits for the model (or for the answer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from api.deps import OwnerId, SessionDep
from api.routes.tasks import NOT_FOUND, get_owned_task
from api.schemas import AnswerRequest, Empty, ErrorDetail
from shared import human_answer, task_store
from shared.dispatch import dispatch
from shared.models import Task, TaskStatus

router = APIRouter(tags=["control"])

RESPONSES = {**NOT_FOUND, 409: {"model": ErrorDetail, "description": "Transition not allowed"}}
TaskIdQuery = Annotated[str, Query(min_length=1, description="The task's id")]


def _conflict(task: Task, verb: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, f"Cannot {verb} a task that is {task.status.value}")


def _stop(session: Session, owner_id: str, task_id: str) -> Empty:
    task = get_owned_task(session, owner_id, task_id)
    if not task_store.request_stop(session, task):
        session.refresh(task)
        raise _conflict(task, "stop")
    return Empty()


def _pause(session: Session, owner_id: str, task_id: str) -> Empty:
    task = get_owned_task(session, owner_id, task_id)
    if not task_store.request_pause(session, task):
        session.refresh(task)
        raise _conflict(task, "pause")
    return Empty()


def _resume(session: Session, owner_id: str, task_id: str) -> Empty:
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


def _register(verb: str, action: Callable[[Session, str, str], Empty]) -> None:
    """Each control verb answers both `?task_id=` and `/{task_id}`: real clients send both."""

    async def by_query(session: SessionDep, owner_id: OwnerId, task_id: TaskIdQuery) -> Empty:
        return await run_in_threadpool(action, session, owner_id, task_id)

    async def by_path(task_id: str, session: SessionDep, owner_id: OwnerId) -> Empty:
        return await run_in_threadpool(action, session, owner_id, task_id)

    router.add_api_route(
        f"/{verb}-task",
        by_query,
        methods=["PUT"],
        response_model=Empty,
        responses=RESPONSES,
        name=f"{verb}_task",
        summary=f"{verb.capitalize()} a task",
    )
    router.add_api_route(
        f"/{verb}-task/{{task_id}}",
        by_path,
        methods=["PUT"],
        response_model=Empty,
        responses=RESPONSES,
        name=f"{verb}_task_by_path",
        summary=f"{verb.capitalize()} a task",
    )


_register("stop", _stop)
_register("pause", _pause)
_register("resume", _resume)


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


@router.post("/task/{task_id}/answer", response_model=Empty, responses=RESPONSES, summary="Answer the agent's question")
async def answer_task(task_id: str, body: AnswerRequest, session: SessionDep, owner_id: OwnerId) -> Empty:
    """(ext) While the task waits for a person (status paused, `human_question` set), answer it.
    With `secret: true` the answer is kept like a task secret: the agent can type it, never sees it."""
    return await run_in_threadpool(answer, session, owner_id, task_id, body)

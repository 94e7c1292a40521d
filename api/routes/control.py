"""Stop, pause, resume, and answer the agent's question: the v1 routes over
api/task_control.py (each verb by `?task_id=` and by path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from api.deps import OwnerId, SessionDep
from api.schemas import AnswerRequest, Empty
from api.task_control import RESPONSES, answer, pause, resume, stop

router = APIRouter(tags=["control"])

TaskIdQuery = Annotated[str, Query(min_length=1, description="The task's id")]


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


_register("stop", stop)
_register("pause", pause)
_register("resume", resume)


@router.post("/task/{task_id}/answer", response_model=Empty, responses=RESPONSES, summary="Answer the agent's question")
async def answer_task(task_id: str, body: AnswerRequest, session: SessionDep, owner_id: OwnerId) -> Empty:
    """(ext) While the task waits for a person (status paused, `human_question` set), answer it.
    With `secret: true` the answer is kept like a task secret: the agent can type it, never sees it."""
    return await run_in_threadpool(answer, session, owner_id, task_id, body)

"""Replay (ext): run a finished task again from its recorded steps, without
the model while the pages match (see worker/llm/replay.py). The replay is an
ordinary new task with `replay_of` set, submitted with the original's
request, so it is checked like any other (files, profile, model)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool

from api.deps import OwnerId, SessionDep
from api.intake import create_task
from api.owned import NOT_FOUND, get_owned_task
from api.schemas import ErrorDetail, RunTaskRequest, TaskCreatedResponse
from shared.crypto import decrypt_json
from shared.models import Task, TaskStatus

router = APIRouter(tags=["tasks"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"model": ErrorDetail, "description": "The task did not finish"},
}


@router.post("/task/{task_id}/replay", response_model=TaskCreatedResponse, responses=RESPONSES)
async def replay_task(task_id: str, session: SessionDep, owner_id: OwnerId) -> TaskCreatedResponse:
    """Repeat a finished task's actions, finding each element again by its
    description; from the first step whose page does not match, the task's
    model takes over. Returns the new task's id."""
    original = await run_in_threadpool(get_owned_task, session, owner_id, task_id)
    if original.status != TaskStatus.finished:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"Only a finished task can be replayed; this one is {original.status.value}. "
            "Replay a run that did what you want.",
        )
    task = await create_task(original_request(original), session, owner_id, replay_of=original.id)
    return TaskCreatedResponse(id=task.id)


def original_request(task: Task) -> RunTaskRequest:
    """The request the original was submitted with, secrets included."""
    fields = {name: getattr(task, name) for name in RunTaskRequest.model_fields if hasattr(task, name)}
    fields["secrets"] = decrypt_json(task.secrets_encrypted) if task.secrets_encrypted else None
    fields["metadata"] = task.task_metadata
    return RunTaskRequest.model_validate(fields)

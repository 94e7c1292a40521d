"""Submit a task, read it back, list tasks."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import func
from sqlmodel import col, select

from api import idempotency
from api.deps import OwnerId, SessionDep
from api.intake import create_task_once
from api.owned import NOT_FOUND, get_owned_task
from api.schemas import RunTaskRequest, TaskCreatedResponse, TaskPage, TaskView
from api.views import task_summary, task_view
from shared import task_store
from shared.models import Task, TaskStatus

router = APIRouter(tags=["tasks"])


@router.post("/run-task", response_model=TaskCreatedResponse)
async def run_task(
    body: RunTaskRequest, session: SessionDep, owner_id: OwnerId, idempotency_key: idempotency.IdempotencyHeader = None
) -> TaskCreatedResponse:
    """Store the task, then queue it. Once this answers, the task is never lost;
    with an Idempotency-Key, a retry of this request gets this same task."""
    print_ = idempotency.fingerprint("v1", owner_id, body.model_dump(mode="json"))
    return TaskCreatedResponse(id=await create_task_once(body, session, owner_id, idempotency_key, print_))


@router.get("/task/{task_id}", response_model=TaskView, responses=NOT_FOUND)
def get_task(task_id: str, session: SessionDep, owner_id: OwnerId) -> TaskView:
    task = get_owned_task(session, owner_id, task_id)
    return task_view(task, task_store.recorded_steps(session, task_id))


@router.get("/task/{task_id}/status", response_model=TaskStatus, responses=NOT_FOUND)
def get_task_status(task_id: str, session: SessionDep, owner_id: OwnerId) -> TaskStatus:
    """Just the status: one indexed lookup, meant for tight polling."""
    row = session.exec(select(col(Task.status), col(Task.owner_id)).where(Task.id == task_id)).one_or_none()
    if row is None or row[1] != owner_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Task not found")
    return row[0]


@router.get("/tasks", response_model=TaskPage)
def list_tasks(
    session: SessionDep,
    owner_id: OwnerId,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    status_filter: Annotated[TaskStatus | None, Query(alias="status")] = None,
) -> TaskPage:
    where = [col(Task.owner_id) == owner_id]
    if status_filter is not None:
        where.append(col(Task.status) == status_filter)
    total = session.exec(select(func.count()).select_from(Task).where(*where)).one()
    rows = session.exec(
        select(Task)
        .where(*where)
        .order_by(col(Task.created_at).desc(), col(Task.id).desc())
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    return TaskPage(
        tasks=[task_summary(t) for t in rows],
        total_pages=max(1, math.ceil(total / limit)),
        page=page,
        limit=limit,
        total_count=total,
    )

"""The v2 task API (`/api/v2/tasks`), the one the official SDKs and the n8n
node speak, over the same tasks as v1: a task created here is an ordinary
task (same table, same worker) that v1 reads too, and the other way round.
Auth is the `X-Browser-Use-API-Key` header with a browserq key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from api import idempotency, task_control
from api.deps import OwnerV2, SessionDep
from api.errors import invalid
from api.intake import create_task_once
from api.owned import NOT_FOUND, get_owned_task
from api.schemas import Empty
from api.v2_mapping import V1_STATUSES, item_view, run_request, status_view, task_view
from api.v2_schemas import (
    CreateTaskRequestV2,
    TaskCreatedResponseV2,
    TaskListResponseV2,
    TaskStatusViewV2,
    TaskViewV2,
    UpdateTaskRequestV2,
)
from shared import task_store
from shared.models import Step, Task, TaskStatus
from shared.settings import get_settings

router = APIRouter(prefix="/api/v2", tags=["v2"])

_CONTROL = {
    "stop": task_control.stop,
    "stop_task_and_session": task_control.stop,
    "pause": task_control.pause,
    "resume": task_control.resume,
}


@router.get("/ping", response_model=Empty, responses={401: {"description": "The key is missing or not valid"}})
def ping_v2(_owner_id: OwnerV2) -> Empty:
    """`{}` for a valid key, else 401: the v2 n8n node's "Test credential" asks here."""
    return Empty()


@router.post("/tasks", response_model=TaskCreatedResponseV2)
async def create_task_v2(
    body: CreateTaskRequestV2,
    session: SessionDep,
    owner_id: OwnerV2,
    idempotency_key: idempotency.IdempotencyHeader = None,
) -> TaskCreatedResponseV2:
    """With an Idempotency-Key, a retry of this request gets the same task (see api/idempotency.py)."""
    print_ = idempotency.fingerprint("v2", owner_id, body.model_dump(mode="json"))
    task_id = await create_task_once(run_request(body), session, owner_id, idempotency_key, print_)
    return TaskCreatedResponseV2(id=task_id, session_id=task_id)


@router.get("/tasks", response_model=TaskListResponseV2)
def list_tasks_v2(
    session: SessionDep,
    owner_id: OwnerV2,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 10,
    page_number: Annotated[int, Query(alias="pageNumber", ge=1, le=1_000_000)] = 1,
    session_id: Annotated[str | None, Query(alias="sessionId")] = None,
    filter_by: Annotated[str | None, Query(alias="filterBy", description=", ".join(V1_STATUSES))] = None,
    after: datetime | None = None,
    before: datetime | None = None,
) -> TaskListResponseV2:
    """Newest first."""
    where = [col(Task.owner_id) == owner_id]
    if filter_by is not None:
        if filter_by not in V1_STATUSES:
            raise invalid(["query", "filterBy"], f"filterBy must be one of {', '.join(V1_STATUSES)}")
        where.append(col(Task.status).in_(V1_STATUSES[filter_by]))
    if session_id:
        where.append(col(Task.id) == session_id)
    if after is not None:
        where.append(col(Task.created_at) >= _utc(after, "after"))
    if before is not None:
        where.append(col(Task.created_at) < _utc(before, "before"))
    total = session.exec(select(func.count()).select_from(Task).where(*where)).one()
    rows = list(
        session.exec(
            select(Task)
            .where(*where)
            .order_by(col(Task.created_at).desc(), col(Task.id).desc())
            .offset((page_number - 1) * page_size)
            .limit(page_size)
        ).all()
    )
    last = _last_steps(session, [t.id for t in rows if t.status == TaskStatus.finished])
    settings = get_settings()
    return TaskListResponseV2(
        items=[item_view(t, last.get(t.id), settings) for t in rows],
        total_items=total,
        page_number=page_number,
        page_size=page_size,
    )


@router.get("/tasks/{task_id}", response_model=TaskViewV2, responses=NOT_FOUND)
def get_task_v2(task_id: str, session: SessionDep, owner_id: OwnerV2) -> TaskViewV2:
    return _view(session, get_owned_task(session, owner_id, task_id))


@router.patch("/tasks/{task_id}", response_model=TaskViewV2, responses=task_control.RESPONSES)
def update_task_v2(task_id: str, body: UpdateTaskRequestV2, session: SessionDep, owner_id: OwnerV2) -> TaskViewV2:
    """stop (or stop_task_and_session: a task's session ends with it), pause, resume."""
    action = _CONTROL.get(body.action)
    if action is None:
        raise invalid(["body", "action"], f"action must be one of {', '.join(_CONTROL)}")
    action(session, owner_id, task_id)
    task = get_owned_task(session, owner_id, task_id)
    session.refresh(task)
    return _view(session, task)


@router.get("/tasks/{task_id}/status", response_model=TaskStatusViewV2, responses=NOT_FOUND)
def get_task_status_v2(task_id: str, session: SessionDep, owner_id: OwnerV2) -> TaskStatusViewV2:
    task = get_owned_task(session, owner_id, task_id)
    return status_view(task, _last_steps(session, [task.id]).get(task.id), get_settings())


@router.get("/tasks/{task_id}/logs", responses=NOT_FOUND)
def get_task_logs_v2(task_id: str, session: SessionDep, owner_id: OwnerV2) -> None:
    get_owned_task(session, owner_id, task_id)
    raise HTTPException(
        status.HTTP_404_NOT_FOUND, "browserq keeps no agent log file: every step is in GET /api/v2/tasks/{task_id}"
    )


def _utc(value: datetime, name: str) -> datetime:
    """Naive means UTC (the SDK sends naive UTC); SQLite compares the digits, so convert first.
    A moment whose offset takes it outside the years 1..9999 is refused, not a 500."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise invalid(["query", name], f"{name} is outside the years 1 to 9999 once converted to UTC") from None


def _view(session: Session, task: Task) -> TaskViewV2:
    return task_view(task, task_store.recorded_steps(session, task.id), get_settings())


def _last_steps(session: Session, task_ids: list[str]) -> dict[str, Step]:
    """The last step of each task, in one query (isSuccess is read from it)."""
    if not task_ids:
        return {}
    last = (
        select(Step.task_id, func.max(Step.step).label("step"))
        .where(col(Step.task_id).in_(task_ids))
        .group_by(col(Step.task_id))
        .subquery()
    )
    rows = session.exec(
        select(Step).join(last, and_(col(Step.task_id) == last.c.task_id, col(Step.step) == last.c.step))
    )
    return {s.task_id: s for s in rows}

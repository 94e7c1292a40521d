"""Scheduled tasks: a run-task request that runs by itself (see api/maintenance/schedules.py)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from api.deps import OwnerId, SessionDep
from api.intake import new_task
from api.maintenance.schedules import timing_of
from api.owned import get_owned_schedule
from api.schedule_schemas import (
    SCHEDULE_FIELDS,
    ScheduledTaskCreate,
    ScheduledTaskPage,
    ScheduledTaskUpdate,
    ScheduledTaskView,
    ScheduleState,
)
from api.schedule_times import first_at_or_after, utc
from api.schemas import Empty, ErrorDetail, TaskCreatedResponse, without_nulls
from shared.crypto import encrypt_json
from shared.models import ScheduledTask, utcnow

router = APIRouter(tags=["scheduled tasks"])

START_GRACE = timedelta(seconds=60)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail, "description": "Scheduled task not found"}}


def _apply(schedule: ScheduledTask, body: ScheduledTaskCreate, session: Session) -> None:
    """Copy a validated body onto the row; each run is checked like POST /run-task now, so
    a schedule that could never start (unknown model or profile) is refused up front."""
    new_task(body, session, schedule.owner_id)
    schedule.request = body.run_request()
    if body.secrets is not None or "secrets" in body.model_fields_set:
        schedule.secrets_encrypted = encrypt_json(body.secrets) if body.secrets else None
    for name in SCHEDULE_FIELDS:
        setattr(schedule, name, getattr(body, name))
    schedule.updated_at = utcnow()


def _restart(schedule: ScheduledTask) -> None:
    """The first run at or after now: runs before now are not made up, but a start_at
    of "just now" (the default) still counts from start_at. A paused schedule keeps the
    run it would make when resumed (only active ones are dispatched)."""
    now = utcnow()
    since = schedule.start_at if utc(schedule.start_at) >= now - START_GRACE else now
    schedule.next_run_at = first_at_or_after(timing_of(schedule), since)
    if schedule.next_run_at is None:
        schedule.is_active = False


def _timing_key(schedule: ScheduledTask) -> list[Any]:
    return [utc(v) if isinstance(v, datetime) else v for v in (getattr(schedule, n) for n in SCHEDULE_FIELDS)]


def to_view(schedule: ScheduledTask) -> Any:
    """The official shape requires next_run_at: a schedule past its last run shows end_at."""
    state = {name: getattr(schedule, name) for name in ScheduleState.model_fields}
    state["next_run_at"] = schedule.next_run_at or schedule.end_at
    return ScheduledTaskView.model_validate({**schedule.request, **state})


@router.post("/scheduled-task", response_model=TaskCreatedResponse)
def create_schedule(body: ScheduledTaskCreate, session: SessionDep, owner_id: OwnerId) -> TaskCreatedResponse:
    schedule = ScheduledTask(
        owner_id=owner_id,
        request={},
        schedule_type=body.schedule_type,
        start_at=body.start_at,  # type: ignore[arg-type]
        end_at=body.end_at,  # type: ignore[arg-type]
    )  # (laid out as ruff format leaves it, so each ignore stays on the line it is for)
    _apply(schedule, body, session)
    _restart(schedule)
    session.add(schedule)
    session.commit()
    return TaskCreatedResponse(id=schedule.id)


@router.get("/scheduled-tasks", response_model=ScheduledTaskPage)
def list_schedules(
    session: SessionDep,
    owner_id: OwnerId,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> ScheduledTaskPage:
    where = col(ScheduledTask.owner_id) == owner_id
    total = session.exec(select(func.count()).select_from(ScheduledTask).where(where)).one()
    rows = session.exec(
        select(ScheduledTask)
        .where(where)
        .order_by(col(ScheduledTask.created_at).desc(), col(ScheduledTask.id).desc())
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    return ScheduledTaskPage(
        tasks=[to_view(r) for r in rows],
        total_pages=max(1, math.ceil(total / limit)),
        page=page,
        limit=limit,
        total_count=total,
    )


@router.get("/scheduled-task/{schedule_id}", response_model=ScheduledTaskView, responses=NOT_FOUND)
def get_schedule(schedule_id: str, session: SessionDep, owner_id: OwnerId) -> Any:
    return to_view(get_owned_schedule(session, owner_id, schedule_id))


@router.put("/scheduled-task/{schedule_id}", response_model=ScheduledTaskView, responses=NOT_FOUND)
def update_schedule(schedule_id: str, body: ScheduledTaskUpdate, session: SessionDep, owner_id: OwnerId) -> Any:
    """A partial update: the fields sent replace the stored ones and the whole is
    checked again as on create. Changing the timing or reactivating restarts from now."""
    schedule = get_owned_schedule(session, owner_id, schedule_id)
    changes = without_nulls(body.model_dump(exclude_unset=True))
    reactivate = changes.pop("is_active", None)
    current = {**schedule.request, **{name: getattr(schedule, name) for name in SCHEDULE_FIELDS}}
    try:
        merged = ScheduledTaskCreate.model_validate({**current, **changes})
    except ValidationError as exc:  # the shape of every other 422: located in the body, no pydantic URLs
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    if "secrets" not in changes:
        merged.model_fields_set.discard("secrets")
    timing_before = _timing_key(schedule)
    _apply(schedule, merged, session)
    was_active = schedule.is_active
    if reactivate is not None:
        schedule.is_active = reactivate
    if timing_before != _timing_key(schedule) or schedule.is_active != was_active:
        _restart(schedule)
    session.add(schedule)
    session.commit()
    return to_view(schedule)


@router.delete("/scheduled-task/{schedule_id}", response_model=Empty, responses=NOT_FOUND)
def delete_schedule(schedule_id: str, session: SessionDep, owner_id: OwnerId) -> Empty:
    session.delete(get_owned_schedule(session, owner_id, schedule_id))
    session.commit()
    return Empty()

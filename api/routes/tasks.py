"""Submit a task, read it back, list tasks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api import idempotency
from api.deps import OwnerId, SessionDep
from api.errors import invalid
from api.file_rules import check_included_files
from api.file_urls import screenshot_url
from api.routes import profiles
from api.schemas import (
    BrowserData,
    Cost,
    ErrorDetail,
    RunTaskRequest,
    StepView,
    TaskCreatedResponse,
    TaskPage,
    TaskSummary,
    TaskView,
)
from shared import billing
from shared.crypto import decrypt_json, encrypt_json
from shared.dispatch import dispatch
from shared.model_routes import model_unavailable_reason
from shared.models import Step, Task, TaskStatus
from shared.public_links import live_url, new_share_token, share_url
from shared.settings import get_settings
from shared.storage import get_storage
from shared.webhooks.outbox import record_new_task

router = APIRouter(tags=["tasks"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail, "description": "Task not found"}}


def get_owned_task(session: Session, owner_id: str, task_id: str) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.owner_id != owner_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Task not found")
    return task


def _check_request(body: RunTaskRequest) -> None:
    reason = model_unavailable_reason(body.llm_model, get_settings())
    if reason:
        raise invalid(["body", "llm_model"], reason)


@router.post("/run-task", response_model=TaskCreatedResponse)
async def run_task(
    body: RunTaskRequest, session: SessionDep, owner_id: OwnerId, idempotency_key: idempotency.IdempotencyHeader = None
) -> TaskCreatedResponse:
    """Store the task, then queue it. Once this answers, the task is never lost;
    with an Idempotency-Key, a retry of this request gets this same task."""
    print_ = idempotency.fingerprint("v1", owner_id, body.model_dump(mode="json"))
    return TaskCreatedResponse(id=await create_task_once(body, session, owner_id, idempotency_key, print_))


async def create_task_once(body: RunTaskRequest, session: Session, owner_id: str, key: str | None, print_: str) -> str:
    """create_task, unless a request with this Idempotency-Key made its task already: that task's id."""
    if key is None:
        return (await create_task(body, session, owner_id)).id
    earlier = await run_in_threadpool(idempotency.earlier_task, session, owner_id, key, print_)
    if earlier:
        return earlier
    task = await run_in_threadpool(new_task, body, session, owner_id)
    try:
        await run_in_threadpool(
            _store, session, task, lambda: idempotency.record(session, owner_id, key, print_, task.id)
        )
    except IntegrityError:  # a request with the same key committed first: its task is the one
        session.rollback()
        earlier = await run_in_threadpool(idempotency.earlier_task, session, owner_id, key, print_)
        if earlier is None:
            raise
        return earlier
    await run_in_threadpool(dispatch, task.id)
    return task.id


async def create_task(body: RunTaskRequest, session: Session, owner_id: str, **columns: Any) -> Task:
    """Check, store and queue one task. Every way of starting a task (v1, v2,
    search, replay) comes through here; `columns` sets extra Task columns."""
    task = await run_in_threadpool(new_task, body, session, owner_id, **columns)
    await run_in_threadpool(_store, session, task)
    await run_in_threadpool(dispatch, task.id)
    return task


def new_task(body: RunTaskRequest, session: Session, owner_id: str, **columns: Any) -> Task:
    """Check a request and build its task, not yet stored: what create_task and
    each run of a scheduled task share. Raises HTTPException (422, 402)."""
    _check_request(body)
    reason = billing.over_budget_reason(session, owner_id)
    if reason:
        raise HTTPException(status.HTTP_402_PAYMENT_REQUIRED, reason)
    if body.included_file_names:
        check_included_files(get_storage(), owner_id, body.included_file_names)
    from_profile = _profile_settings(session, owner_id, body.browser_profile_id)
    return Task(
        owner_id=owner_id,
        task=body.task,
        secrets_encrypted=encrypt_json(body.secrets) if body.secrets else None,
        secret_names=sorted(body.secrets) if body.secrets else None,
        **{**body.model_dump(exclude={"task", "secrets", "structured_output_json", "metadata"}), **from_profile},
        structured_output_json=body.structured_output_json,  # type: ignore[arg-type]
        task_metadata=body.metadata,
        public_share_token=new_share_token() if body.enable_public_share else None,
        **columns,
    )


def _profile_settings(session: Session, owner_id: str, profile_id: str | None) -> dict[str, Any]:
    """A task on a profile runs with the profile's viewport, ad blocker and proxy settings."""
    if not profile_id:
        return {}
    try:
        return profiles.task_settings(profiles.get_owned_profile(session, owner_id, profile_id))
    except HTTPException:
        raise invalid(
            ["body", "browser_profile_id"],
            f"browser profile {profile_id!r} not found: create one with POST /browser-profiles",
        ) from None


def _store(session: Session, task: Task, also: Callable[[], None] | None = None) -> None:
    session.add(task)
    record_new_task(session, task)  # its webhook event commits with it
    if also is not None:
        also()  # more rows for the same transaction (the request's Idempotency-Key)
    session.commit()


def _browser_data(task: Task) -> BrowserData | None:
    """Cookies are stored encrypted; they are decrypted only to answer their owner."""
    if not task.browser_data_encrypted:
        return None
    return BrowserData.model_validate(decrypt_json(task.browser_data_encrypted))


def waiting_question(task: Task) -> str | None:
    """The agent's question, while the task waits for a person to answer it."""
    return task.human_question if task.status == TaskStatus.paused else None


def cost_view(task: Task) -> Cost:
    spent = billing.cost_of(task)
    return Cost(input_tokens=spent.input_tokens, output_tokens=spent.output_tokens, usd=spent.usd)


def to_view(task: Task, steps: list[Step]) -> TaskView:
    return TaskView(
        id=task.id,
        task=task.task,
        output=task.output,
        status=task.status,
        created_at=task.created_at,
        finished_at=task.finished_at,
        steps=[
            StepView(
                id=s.id,
                step=s.step,
                evaluation_previous_goal=s.shown_evaluation,
                next_goal=s.next_goal,
                url=s.url,
                memory=s.memory,
                actions=s.actions,
                duration_ms=s.duration_ms,
                screenshot_url=screenshot_url(task, s.screenshot_key),
            )
            for s in steps
        ],
        browser_data=_browser_data(task),
        user_uploaded_files=task.included_file_names,
        output_files=task.output_files,
        metadata=task.task_metadata,
        replay_of=task.replay_of,
        live_url=live_url(task, get_settings()),
        public_share_url=share_url(task, get_settings()),
        human_question=waiting_question(task),
        cost=cost_view(task),
    )


@router.get("/task/{task_id}", response_model=TaskView, responses=NOT_FOUND)
def get_task(task_id: str, session: SessionDep, owner_id: OwnerId) -> TaskView:
    task = get_owned_task(session, owner_id, task_id)
    steps = session.exec(select(Step).where(Step.task_id == task_id).order_by(col(Step.step))).all()
    return to_view(task, list(steps))


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
        tasks=[
            TaskSummary(
                id=t.id,
                task=t.task,
                output=t.output,
                status=t.status,
                created_at=t.created_at,
                finished_at=t.finished_at,
                live_url=live_url(t, get_settings()),
                human_question=waiting_question(t),
                cost=cost_view(t),
            )
            for t in rows
        ],
        total_pages=max(1, math.ceil(total / limit)),
        page=page,
        limit=limit,
        total_count=total,
    )

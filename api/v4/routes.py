"""The v4 runs API (`/api/v4/runs`) over the same tasks as v1 and v2: a run is an
ordinary task (same table, same workers), read through the one task read model.
Auth is the `X-Browser-Use-API-Key` header with a browserq key, as in v2."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import and_, or_
from sqlmodel import col, select

from api import idempotency, task_control
from api.deps import OwnerV2, SessionDep
from api.errors import invalid
from api.intake import create_task_once
from api.owned import NOT_FOUND, get_owned_task
from api.task_read import read_task
from api.v4 import mapping
from api.v4.schemas import (
    RunAttachmentsResponseV4,
    RunAttachmentV4,
    RunCreateRequestV4,
    RunCreateResponseV4,
    RunEventsResponseV4,
    RunListResponseV4,
    RunStatusResponseV4,
    RunSummaryV4,
)
from shared import task_store
from shared.models import Task
from shared.settings import get_settings
from shared.storage import StorageError, get_storage
from shared.storage.base import guess_type
from shared.storage.names import output_key

router = APIRouter(prefix="/api/v4", tags=["v4"])


@router.post("/runs", response_model=RunCreateResponseV4)
async def create_run(
    body: RunCreateRequestV4,
    request: Request,
    session: SessionDep,
    owner_id: OwnerV2,
    idempotency_key: idempotency.IdempotencyHeader = None,
) -> RunCreateResponseV4:
    """Fields browserq cannot honour (follow-up sessions, workspaces, 1Password, AgentMail...) are a 422."""
    run = mapping.run_request(body, get_settings())
    print_ = idempotency.fingerprint("v4", owner_id, body.model_dump(mode="json"))
    try:
        task_id = await create_task_once(run, session, owner_id, idempotency_key, print_)
    except HTTPException as exc:
        raise mapping.v4_error(exc) from None
    return RunCreateResponseV4(
        id=task_id,
        status="queued",
        model=run.llm_model,
        session_id=task_id,
        workspace_id=task_id,
        events_url=str(request.url_for("run_events", run_id=task_id)),
    )


@router.get("/runs", response_model=RunListResponseV4)
def list_runs(
    session: SessionDep,
    owner_id: OwnerV2,
    session_id: Annotated[str | None, Query(alias="sessionId")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RunListResponseV4:
    """Newest first; `nextCursor` continues after the last run of this page."""
    where = [col(Task.owner_id) == owner_id]
    if session_id:
        where.append(col(Task.id) == session_id)
    if cursor:
        created, last_id = _read_cursor(cursor)
        where.append(or_(col(Task.created_at) < created, and_(col(Task.created_at) == created, col(Task.id) < last_id)))
    rows = list(
        session.exec(
            select(Task).where(*where).order_by(col(Task.created_at).desc(), col(Task.id).desc()).limit(limit + 1)
        ).all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    settings = get_settings()
    return RunListResponseV4(
        runs=[mapping.summary(read_task(t, [], settings)) for t in rows],
        next_cursor=_cursor(rows[-1]) if more and rows else None,
        has_more=more,
    )


@router.get("/runs/{run_id}", response_model=RunSummaryV4, responses=NOT_FOUND)
def get_run(run_id: str, session: SessionDep, owner_id: OwnerV2) -> RunSummaryV4:
    return mapping.summary(read_task(get_owned_task(session, owner_id, run_id), [], get_settings()))


@router.get("/runs/{run_id}/status", response_model=RunStatusResponseV4, responses=NOT_FOUND)
def get_run_status(run_id: str, session: SessionDep, owner_id: OwnerV2) -> RunStatusResponseV4:
    """The cheap poll target of the SDK's wait_for_completion."""
    task = get_owned_task(session, owner_id, run_id)
    return RunStatusResponseV4(status=mapping.V4_STATUS[task.status])


@router.get("/runs/{run_id}/events", response_model=RunEventsResponseV4, responses=NOT_FOUND, name="run_events")
def get_run_events(
    run_id: str,
    session: SessionDep,
    owner_id: OwnerV2,
    after: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RunEventsResponseV4:
    """The events with an id above `after`; pass `nextAfter` back as `after` for the next ones."""
    task = get_owned_task(session, owner_id, run_id)
    steps = task_store.recorded_steps(session, task.id)
    later = [e for e in mapping.events(read_task(task, steps, get_settings())) if e.id > after]
    page = later[:limit]
    return RunEventsResponseV4(events=page, next_after=page[-1].id if page else after, has_more=len(later) > limit)


@router.post("/runs/{run_id}/cancel", response_model=RunSummaryV4, responses=NOT_FOUND)
def cancel_run(run_id: str, session: SessionDep, owner_id: OwnerV2) -> RunSummaryV4:
    """Stops the run (it ends `cancelled` within about a second); a run already over is left as it is."""
    task = get_owned_task(session, owner_id, run_id)
    try:
        task_control.stop(session, owner_id, run_id)
    except HTTPException:
        pass  # it ended meanwhile (or before): v4 answers with the run as it is, not a 409
    session.refresh(task)
    return mapping.summary(read_task(task, [], get_settings()))


@router.get("/runs/{run_id}/attachments", response_model=RunAttachmentsResponseV4, responses=NOT_FOUND)
async def get_run_attachments(run_id: str, session: SessionDep, owner_id: OwnerV2) -> RunAttachmentsResponseV4:
    """The files the agent wrote or downloaded, while they are kept (their retention)."""
    task = await run_in_threadpool(get_owned_task, session, owner_id, run_id)
    if task.files_expired_at is not None:
        return RunAttachmentsResponseV4(attachments=[])
    return RunAttachmentsResponseV4(attachments=await run_in_threadpool(_attachments, task))


def _attachments(task: Task) -> list[RunAttachmentV4]:
    storage = get_storage()
    out = []
    for name in task.output_files or []:
        key = output_key(task.id, name)
        info = storage.stat(key)
        if info is None:
            continue
        try:
            url: str | None = storage.url_for_get(key, download_name=name)
        except StorageError:
            url = None
        out.append(
            RunAttachmentV4(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"browserq:{task.id}/{name}")),
                name=name,
                content_type=guess_type(name),
                size_bytes=info.size,
                status="uploaded",
                download_url=url,
            )
        )
    return out


def _cursor(task: Task) -> str:
    raw = json.dumps([task.created_at.isoformat(), task.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(created), str(last_id)
    except (ValueError, TypeError, binascii.Error):
        raise invalid(["query", "cursor"], "cursor is not one this API gave: pass nextCursor as it came") from None

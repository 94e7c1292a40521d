"""The public share page of a task run with `enable_public_share`: read-only,
no key, opened by the random token stored on the task. It shows the task, its
status, each step with its screenshot, and the output, and follows the run
by polling a small JSON endpoint behind the same token. A task without
`enable_public_share` has no such page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import Session, col, select

from api.public_view import not_found_page, page, snapshot, state_response
from shared.db import get_engine
from shared.models import Task

router = APIRouter(tags=["public share"], include_in_schema=False)

ShareToken = Annotated[str, Path(max_length=100)]
GONE = "There is no shared task at this address."


def _shared_task(session: Session, token: str) -> Task | None:
    if len(token) < 16:
        return None
    task = session.exec(select(Task).where(col(Task.public_share_token) == token)).one_or_none()
    return task if task is not None and task.enable_public_share else None


@router.get("/share/{token}", response_class=HTMLResponse)
def share_page(token: ShareToken) -> HTMLResponse:
    with Session(get_engine(), expire_on_commit=False) as session:
        task = _shared_task(session, token)
    if task is None:
        return not_found_page(GONE)
    return page("share.html", token=token, task_text=task.task)


@router.get("/share/{token}/state")
def share_state(token: ShareToken) -> JSONResponse:
    with Session(get_engine(), expire_on_commit=False) as session:
        task = _shared_task(session, token)
        if task is None:
            return JSONResponse({"detail": GONE}, status_code=404)
        return state_response(snapshot(session, task))

"""Export (ext): a finished task as a standalone Playwright script the user owns and
runs without browserq (api/script_export.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from api.deps import OwnerId, SessionDep
from api.owned import NOT_FOUND, get_owned_task
from api.schemas import ErrorDetail
from api.script_export import export_script
from shared import task_store
from shared.models import TaskStatus

router = APIRouter(tags=["tasks"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/x-python": {}}, "description": "The script"},
    **NOT_FOUND,
    409: {"model": ErrorDetail, "description": "The task did not finish"},
}


@router.get("/task/{task_id}/script", response_class=Response, responses=RESPONSES)
def task_script(task_id: str, session: SessionDep, owner_id: OwnerId) -> Response:
    """The finished run as a Python script using Playwright only: its navigations and
    actions on robust locators, secrets from SECRET_<KEY> environment variables, and the
    answer read again from the page where the run read it."""
    task = get_owned_task(session, owner_id, task_id)
    if task.status != TaskStatus.finished:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"Only a finished task can be exported; this one is {task.status.value}. "
            "Export a run that did what you want.",
        )
    script = export_script(task, task_store.recorded_steps(session, task_id))
    name = f"browserq_{task.id[:8]}.py"
    return Response(
        script,
        media_type="text/x-python; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

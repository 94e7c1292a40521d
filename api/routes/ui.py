"""/ui: the dashboard, for people who would rather look at a run than read
JSON. The pages are static: their script signs in with an API key kept in the
tab's sessionStorage and sends it as the Bearer header to the v1 API, like
any client. No cookie is ever set, so there is no session for another site to
ride on, and no page may be framed by another site (it holds a key)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from api.public_view import page
from shared.settings import get_settings

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _dashboard(template: str, **context: str) -> HTMLResponse:
    """The live view (at the public URL) is the one page the dashboard frames."""
    public = urlsplit(get_settings().public_url)
    live_origin = f"{public.scheme}://{public.netloc}" if public.netloc else ""
    return page(template, frame_ancestors="'none'", frame_src=f"'self' {live_origin}".strip(), **context)


@router.get("/ui", response_class=HTMLResponse)
def task_list() -> HTMLResponse:
    return _dashboard("ui.html")


@router.get("/ui/task/{task_id}", response_class=HTMLResponse)
def task_page(task_id: Annotated[str, Path(max_length=100)]) -> HTMLResponse:
    return _dashboard("ui_task.html", task_id=task_id)

"""What the keyless pages (live view, public share) show and how they are
served: a task snapshot that leaves out everything private, and HTML pages
that other sites may put in an `<iframe>`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from api.views import task_view
from shared import task_store
from shared.models import Task

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)

# Only these fields leave the server on a keyless page: never browser_data (cookies),
# metadata, the uploaded files' names, or the links themselves.
_TASK_FIELDS = {"id", "task", "status", "output", "created_at", "finished_at", "output_files", "human_question"}
_STEP_FIELDS = {
    "id",
    "step",
    "evaluation_previous_goal",
    "next_goal",
    "memory",
    "url",
    "actions",
    "screenshot_url",
    "duration_ms",
}
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def snapshot(session: Session, task: Task) -> dict[str, Any]:
    """The task and its steps as a keyless page may show them (secrets were redacted when stored)."""
    view = task_view(task, task_store.recorded_steps(session, task.id))  # the one place a task becomes its wire shape
    data = view.model_dump(mode="json", include={*_TASK_FIELDS, "steps"})
    data["steps"] = [{k: v for k, v in step.items() if k in _STEP_FIELDS} for step in data["steps"]]
    return data


def state_response(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse(data, headers=_NO_STORE)


def page(template: str, frame_ancestors: str = "*", frame_src: str = "'none'", **context: Any) -> HTMLResponse:
    """A page whose scripts run only by nonce; any site may frame it unless
    `frame_ancestors` says otherwise (the dashboard, which holds a key, says 'none')."""
    nonce = secrets.token_urlsafe(16)
    html = _templates.get_template(template).render(nonce=nonce, **context)
    policy = (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; "
        "style-src 'unsafe-inline'; "
        "img-src 'self' data: blob: http: https:; "
        "media-src 'self' blob: http: https:; "  # the dashboard plays a task's recording from storage
        "connect-src 'self' ws: wss:; "
        f"frame-src {frame_src}; "
        "base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {frame_ancestors}"
    )
    return HTMLResponse(html, headers={**_NO_STORE, "Content-Security-Policy": policy})


def not_found_page(message: str, status_code: int = 404) -> HTMLResponse:
    html = _templates.get_template("gone.html").render(message=message)
    return HTMLResponse(html, status_code=status_code, headers=_NO_STORE)

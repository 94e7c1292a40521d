"""The one shape every 422 has: FastAPI's own validation error
(`{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`), as the OpenAPI
schema documents it, whether FastAPI or a route found the problem."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException, Request, status


def error_item(loc: Sequence[str | int], message: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "msg": message, "type": kind}


def invalid(loc: Sequence[str | int], message: str, kind: str = "value_error") -> HTTPException:
    """A 422 naming the field (`loc`, as FastAPI spells it: ["body", "task"],
    ["query", "filterBy"]) and saying what is wrong with it."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [error_item(loc, message, kind)])


_VERSION = re.compile(r"^/api/(v\d+)/")


def no_such_route(request: Request) -> str:
    """The 404 for a path under /api/ that no route has: which versions this server
    speaks, read from its routes (so a version added later is named without a change here)."""
    paths = request.app.openapi().get("paths", {})  # built once, then cached by FastAPI
    versions = sorted({m.group(1) for path in paths if (m := _VERSION.match(path))}, key=lambda v: int(v[1:]))
    bases = ", ".join(f"/api/{v}" for v in versions)
    return (
        f"No route {request.method} {request.url.path}: this server speaks the API versions {bases}. "
        "Point the client's base URL at one of them (docs/clients.md says which client speaks which); "
        "/docs lists every route."
    )

"""The one shape every 422 has: FastAPI's own validation error
(`{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`), as the OpenAPI
schema documents it, whether FastAPI or a route found the problem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException, status


def error_item(loc: Sequence[str | int], message: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "msg": message, "type": kind}


def invalid(loc: Sequence[str | int], message: str, kind: str = "value_error") -> HTTPException:
    """A 422 naming the field (`loc`, as FastAPI spells it: ["body", "task"],
    ["query", "filterBy"]) and saying what is wrong with it."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [error_item(loc, message, kind)])

"""Ping and the caller's key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import SessionDep, bearer, owner_of_key
from api.schemas import Empty

router = APIRouter(tags=["account"])


@router.get("/ping", response_model=Empty)
def ping() -> Empty:
    return Empty()


@router.get(
    "/me",
    response_model=bool,
    responses={401: {"description": "The key is missing or not valid: the body is `false`", "model": bool}},
)
def me(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> bool | JSONResponse:
    """`true` for a valid key; otherwise 401 with the body `false`, as the official docs
    have it (a script doing `bool(r.json())` must not take an error object for success)."""
    if credentials is None or not credentials.credentials:
        return _not_valid()
    try:
        owner_of_key(session, credentials.credentials)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_401_UNAUTHORIZED:
            raise  # over the rate limit: 429 with Retry-After, as everywhere
        return _not_valid()
    return True


def _not_valid() -> JSONResponse:
    return JSONResponse(False, status_code=status.HTTP_401_UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})

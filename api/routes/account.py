"""Ping and the caller's key."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import OwnerId
from api.schemas import Empty

router = APIRouter(tags=["account"])


@router.get("/ping", response_model=Empty)
def ping() -> Empty:
    return Empty()


@router.get("/me", response_model=bool)
def me(_owner: OwnerId) -> bool:
    return True

"""Browser profiles: saved browser settings a task can start from, and with
`persist` the cookies and local storage its tasks carry from one to the next."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func, update
from sqlalchemy.orm import defer
from sqlmodel import col, select

from api.deps import OwnerId, SessionDep
from api.owned import get_owned_profile
from api.schemas import (
    BrowserProfileCreate,
    BrowserProfilePage,
    BrowserProfileUpdate,
    BrowserProfileView,
    Empty,
    ErrorDetail,
    without_nulls,
)
from shared.models import BrowserProfile, utcnow

router = APIRouter(tags=["browser profiles"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail, "description": "Browser profile not found"}}


def to_view(profile: BrowserProfile) -> BrowserProfileView:
    return BrowserProfileView(
        profile_id=profile.id,
        profile_name=profile.profile_name,
        description=profile.description,
        persist=profile.persist,
        ad_blocker=profile.ad_blocker,
        proxy=profile.proxy,
        proxy_country_code=profile.proxy_country_code,
        browser_viewport_width=profile.browser_viewport_width,
        browser_viewport_height=profile.browser_viewport_height,
    )


@router.post("/browser-profiles", response_model=BrowserProfileView)
def create_profile(body: BrowserProfileCreate, session: SessionDep, owner_id: OwnerId) -> BrowserProfileView:
    profile = BrowserProfile(owner_id=owner_id, **body.model_dump())
    session.add(profile)
    session.commit()
    return to_view(profile)


@router.get("/browser-profiles", response_model=BrowserProfilePage)
def list_profiles(
    session: SessionDep,
    owner_id: OwnerId,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> BrowserProfilePage:
    """Newest first; the saved browser state is never read here."""
    mine = col(BrowserProfile.owner_id) == owner_id
    total = session.exec(select(func.count()).select_from(BrowserProfile).where(mine)).one()
    rows = session.exec(
        select(BrowserProfile)
        .where(mine)
        .options(defer(BrowserProfile.storage_state_encrypted))  # type: ignore[arg-type]
        .order_by(col(BrowserProfile.created_at).desc(), col(BrowserProfile.id).desc())
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    return BrowserProfilePage(
        profiles=[to_view(p) for p in rows],
        total_pages=max(1, math.ceil(total / limit)),
        page=page,
        limit=limit,
        total_count=total,
    )


@router.get("/browser-profiles/{profile_id}", response_model=BrowserProfileView, responses=NOT_FOUND)
def get_profile(profile_id: str, session: SessionDep, owner_id: OwnerId) -> BrowserProfileView:
    return to_view(get_owned_profile(session, owner_id, profile_id))


@router.put("/browser-profiles/{profile_id}", response_model=BrowserProfileView, responses=NOT_FOUND)
def update_profile(
    profile_id: str, body: BrowserProfileUpdate, session: SessionDep, owner_id: OwnerId
) -> BrowserProfileView:
    """A partial update. Turning `persist` off also forgets the saved cookies and storage."""
    profile = get_owned_profile(session, owner_id, profile_id)
    for name, value in without_nulls(body.model_dump(exclude_unset=True)).items():
        setattr(profile, name, value)
    if not profile.persist:
        profile.storage_state_encrypted = None
        profile.storage_saved_at = None
        profile.storage_saved_by = None
    profile.updated_at = utcnow()
    session.add(profile)
    session.commit()
    return to_view(profile)


@router.delete("/browser-profiles/{profile_id}", response_model=Empty, responses=NOT_FOUND)
def delete_profile(profile_id: str, session: SessionDep, owner_id: OwnerId) -> Empty:
    """Deletes the profile and its saved state; tasks that used it keep running without it."""
    session.delete(get_owned_profile(session, owner_id, profile_id))
    session.commit()
    return Empty()


@router.post("/delete-browser-profile-for-user", response_model=Empty)
def delete_browser_data_for_user(session: SessionDep, owner_id: OwnerId) -> Empty:
    """The official v1 call that wipes the caller's saved browser state: the cookies and
    local storage every profile of this key has kept are forgotten (the next task on a
    profile starts fresh); the profiles and their settings stay."""
    session.execute(
        update(BrowserProfile)
        .where(col(BrowserProfile.owner_id) == owner_id)
        .values(storage_state_encrypted=None, storage_saved_at=None, storage_saved_by=None, updated_at=utcnow())
    )
    session.commit()
    return Empty()

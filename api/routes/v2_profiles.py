"""v2's profiles (`client.profiles.*` in browser-use-sdk 3.x) over browserq's browser
profiles: the same rows as v1's /browser-profiles, so a profile made here is used by
a v1 task (`browser_profile_id`) and the other way round. A v2 profile is a v1 profile
with `persist` on (v2's profiles exist to carry cookies) and v1's defaults otherwise."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func
from sqlmodel import col, select

from api.deps import OwnerV2, SessionDep
from api.errors import invalid
from api.owned import get_owned_profile
from api.schemas import ErrorDetail
from api.v2_schemas import ProfileCreateV2, ProfileListResponseV2, ProfileViewV2
from shared.crypto import decrypt_json
from shared.models import BrowserProfile, utcnow

router = APIRouter(prefix="/api/v2", tags=["v2"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail, "description": "Browser profile not found"}}
DEFAULT_NAME = "profile"


def _checked(body: ProfileCreateV2) -> ProfileCreateV2:
    if body.user_id is not None:
        raise invalid(
            ["body", "userId"], "browserq's profiles have no userId: leave it out, or put your identifier in the name"
        )
    if body.name is not None and not body.name.strip():
        raise invalid(["body", "name"], "name must not be blank")
    return body


def _view(profile: BrowserProfile) -> ProfileViewV2:
    return ProfileViewV2(
        id=profile.id,
        name=profile.profile_name,
        last_used_at=profile.storage_saved_at,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
        cookie_domains=_cookie_domains(profile),
    )


def _cookie_domains(profile: BrowserProfile) -> list[str]:
    """The sites the saved cookies belong to (Playwright's storage state), never the cookies."""
    if not profile.storage_state_encrypted:
        return []
    state = decrypt_json(profile.storage_state_encrypted)
    cookies = state.get("cookies", []) if isinstance(state, dict) else []
    return sorted({str(c.get("domain", "")).lstrip(".") for c in cookies if isinstance(c, dict) and c.get("domain")})


@router.post("/profiles", response_model=ProfileViewV2)
def create_profile_v2(body: ProfileCreateV2, session: SessionDep, owner_id: OwnerV2) -> ProfileViewV2:
    _checked(body)
    profile = BrowserProfile(owner_id=owner_id, profile_name=body.name or DEFAULT_NAME, persist=True)
    session.add(profile)
    session.commit()
    return _view(profile)


@router.get("/profiles", response_model=ProfileListResponseV2)
def list_profiles_v2(
    session: SessionDep,
    owner_id: OwnerV2,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 10,
    page_number: Annotated[int, Query(alias="pageNumber", ge=1, le=1_000_000)] = 1,
    query: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
) -> ProfileListResponseV2:
    """Newest first."""
    where = [col(BrowserProfile.owner_id) == owner_id]
    if query:
        where.append(func.lower(col(BrowserProfile.profile_name)).contains(query.lower(), autoescape=True))
    total = session.exec(select(func.count()).select_from(BrowserProfile).where(*where)).one()
    rows = session.exec(
        select(BrowserProfile)
        .where(*where)
        .order_by(col(BrowserProfile.created_at).desc(), col(BrowserProfile.id).desc())
        .offset((page_number - 1) * page_size)
        .limit(page_size)
    ).all()
    return ProfileListResponseV2(
        items=[_view(p) for p in rows], total_items=total, page_number=page_number, page_size=page_size
    )


@router.get("/profiles/{profile_id}", response_model=ProfileViewV2, responses=NOT_FOUND)
def get_profile_v2(profile_id: str, session: SessionDep, owner_id: OwnerV2) -> ProfileViewV2:
    return _view(get_owned_profile(session, owner_id, profile_id))


@router.patch("/profiles/{profile_id}", response_model=ProfileViewV2, responses=NOT_FOUND)
def update_profile_v2(profile_id: str, body: ProfileCreateV2, session: SessionDep, owner_id: OwnerV2) -> ProfileViewV2:
    profile = get_owned_profile(session, owner_id, profile_id)
    name = _checked(body).name
    if name is not None:
        profile.profile_name = name
        profile.updated_at = utcnow()
        session.add(profile)
        session.commit()
    return _view(profile)


@router.delete("/profiles/{profile_id}", status_code=204, responses=NOT_FOUND)
def delete_profile_v2(profile_id: str, session: SessionDep, owner_id: OwnerV2) -> None:
    """The profile and its saved state; tasks that used it keep running without it."""
    session.delete(get_owned_profile(session, owner_id, profile_id))
    session.commit()

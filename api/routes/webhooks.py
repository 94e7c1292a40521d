"""The caller's webhook (ext): set, read with its recent deliveries, remove."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import func
from sqlmodel import Session, col, select

from api.deps import OwnerId, SessionDep
from api.errors import invalid
from api.schemas import Empty, ErrorDetail
from api.webhook_schemas import DeliveryPage, DeliveryView, WebhookSetRequest, WebhookSetResponse, WebhookView
from shared.models import WebhookDelivery
from shared.webhooks import config

router = APIRouter(tags=["webhooks"])

NO_WEBHOOK = 'No webhook is set for this key: set one with PUT /api/v1/webhook {"url": "https://..."}'
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail, "description": "No webhook is set"}}
RECENT = 20


def _deliveries(session: Session, owner_id: str, offset: int, limit: int) -> list[DeliveryView]:
    rows = session.exec(
        select(WebhookDelivery)
        .where(col(WebhookDelivery.owner_id) == owner_id)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return [DeliveryView.model_validate(row, from_attributes=True) for row in rows]


@router.put("/webhook", response_model=WebhookSetResponse)
def set_webhook(body: WebhookSetRequest, session: SessionDep, owner_id: OwnerId) -> WebhookSetResponse:
    """Set (or replace) the URL; it first receives a `{"type": "test"}` event."""
    try:
        result = config.set_webhook(session, owner_id, body.url, body.secret)
    except config.WebhookRefused as exc:
        raise invalid(["body", "url"], str(exc)) from None
    return WebhookSetResponse(
        url=result.webhook.url, secret=result.generated_secret, test_delivery_id=result.test_delivery_id
    )


@router.get("/webhook", response_model=WebhookView, responses=NOT_FOUND)
def get_webhook(session: SessionDep, owner_id: OwnerId) -> WebhookView:
    webhook = config.get_webhook(session, owner_id)
    if webhook is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NO_WEBHOOK)
    return WebhookView(
        url=webhook.url,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
        recent_deliveries=_deliveries(session, owner_id, 0, RECENT),
    )


@router.delete("/webhook", response_model=Empty, responses=NOT_FOUND)
def delete_webhook(session: SessionDep, owner_id: OwnerId) -> Empty:
    if not config.remove_webhook(session, owner_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NO_WEBHOOK)
    return Empty()


@router.get("/webhook/deliveries", response_model=DeliveryPage)
def list_deliveries(
    session: SessionDep,
    owner_id: OwnerId,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DeliveryPage:
    """Every event sent (or being sent) to this key's webhook, newest first."""
    total = session.exec(
        select(func.count()).select_from(WebhookDelivery).where(col(WebhookDelivery.owner_id) == owner_id)
    ).one()
    return DeliveryPage(
        deliveries=_deliveries(session, owner_id, (page - 1) * limit, limit),
        total_pages=max(1, math.ceil(total / limit)),
        page=page,
        limit=limit,
        total_count=total,
    )

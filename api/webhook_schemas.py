"""Wire shapes of the webhook endpoints (ext)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Timestamp


class WebhookSetRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(min_length=1, max_length=2000, description="where events are POSTed")
    secret: str | None = Field(default=None, max_length=256, description="default: one is made and returned once")


class WebhookSetResponse(BaseModel):
    url: str
    secret: str | None = Field(description="the secret made for you, shown only now; null when you sent one")
    test_delivery_id: str


class DeliveryView(BaseModel):
    id: str
    event_type: str
    task_id: str | None
    task_status: str | None
    state: str  # pending, delivered, failed
    attempts: int
    status_code: int | None
    last_error: str | None
    url: str | None
    created_at: Timestamp
    next_attempt_at: Timestamp | None
    finished_at: Timestamp | None


class WebhookView(BaseModel):
    url: str
    created_at: Timestamp
    updated_at: Timestamp
    recent_deliveries: list[DeliveryView]


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryView]
    total_pages: int
    page: int
    limit: int
    total_count: int

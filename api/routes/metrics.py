"""GET /metrics: Prometheus metrics of this machine's browserq processes plus
tasks by status and queue depth (see shared/metrics.py and docs/operations.md).
Outside /api/v1: it is for the operator's Prometheus, not for API clients."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool

from shared import metrics
from shared.settings import get_settings

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
async def prometheus_metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
    token = get_settings().metrics_token
    if token and not hmac.compare_digest(authorization or "", f"Bearer {token}"):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "GET /metrics needs 'Authorization: Bearer <BROWSERQ_METRICS_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    body = await run_in_threadpool(metrics.render, service=True)
    return Response(body, media_type=metrics.CONTENT_TYPE)

"""GET /metrics: Prometheus metrics of this machine's browserq processes plus
tasks by status and queue depth (see shared/metrics.py and docs/operations.md).
Outside /api/v1: it is for the operator's Prometheus, not for API clients."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from shared import metrics
from shared.settings import get_settings

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    token = get_settings().metrics_token
    sent = request.headers.get("authorization", "").encode()
    if token and not hmac.compare_digest(sent, f"Bearer {token}".encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "GET /metrics needs 'Authorization: Bearer <BROWSERQ_METRICS_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    body = await run_in_threadpool(metrics.render, service=True)
    return Response(body, media_type=metrics.CONTENT_TYPE)

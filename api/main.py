"""The FastAPI app: routes under /api/v1, the maintenance loop, and error
handling that turns every failure into a clear 4xx/503, never a 500."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_item, no_such_route
from api.input_guard import InputGuard
from api.maintenance.loop import MaintenanceThread
from api.maintenance.schedules import run_due as run_due_schedules
from api.routes import (
    account,
    billing,
    control,
    files,
    live,
    profiles,
    replay,
    schedules,
    script,
    search,
    share,
    tasks,
    ui,
    v2_billing,
    v2_files,
    v2_profiles,
    v2_tasks,
    webhooks,
)
from api.routes import metrics as metrics_route
from api.routes.mcp import McpEndpoint
from api.v4 import routes as v4_routes
from shared.crypto import SecretKeyMissing
from shared.settings import get_settings
from shared.storage import UPLOAD_MAX_BYTES, StorageError, StorageNotConfigured

log = logging.getLogger("browserq.api")

MAX_BODY_BYTES = 2 * 1024 * 1024
FILE_ROUTE = "/api/v1/files/"


class BodyLimit:
    """Refuse bodies over the limit with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.max_bytes
        if scope.get("method") == "PUT" and scope.get("path", "").startswith(FILE_ROUTE):
            max_bytes = UPLOAD_MAX_BYTES  # an upload to a signed URL; the route checks the signed limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            return await _too_large(send, max_bytes)
        seen = 0
        too_large = False

        async def limited() -> Message:
            nonlocal seen, too_large
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                too_large = True
                raise _BodyTooLarge
            return message

        async def answer_unless_too_large(message: Message) -> None:
            # FastAPI turns the exception raised while it reads the body into a
            # 400 of its own; that answer is dropped for the 413 below.
            if not too_large:
                await send(message)

        try:
            await self.app(scope, limited, answer_unless_too_large)
        except _BodyTooLarge:
            pass
        if too_large:
            await _too_large(send, max_bytes)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, max_bytes: int) -> None:
    body = b'{"detail":"Request body too large (limit %d MB)"}' % (max_bytes // (1024 * 1024))
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _value_refused(_request: Request, exc: Exception) -> JSONResponse:
    """The database refused a value it cannot store (e.g. a NUL character in a text
    field on PostgreSQL): the request's fault, so 422 rather than 503."""
    log.info("value refused by the database: %s", exc)
    message = "A value in the request cannot be stored (text fields may not contain NUL characters)."
    # The shape of every other 422 (FastAPI's HTTPValidationError), as the OpenAPI schema says.
    return JSONResponse({"detail": [error_item(["body"], message)]}, status_code=422)


BODY_PARSE_ERROR = "There was an error parsing the body"  # FastAPI's 400 for a body it cannot decode


async def _http_error(request: Request, exc: Exception) -> Response:
    """A body FastAPI cannot even decode (bytes that are not UTF-8, say) is
    invalid input like any other: 422 in the documented shape, not an undocumented 400.
    A path under /api/ that no route has (Starlette's bare "Not Found") says which API
    versions this server speaks, so a client pointed at the wrong one learns why."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
        error = error_item(["body"], "The request body is not valid UTF-8 JSON.", "json_invalid")
        return JSONResponse({"detail": [error]}, status_code=422)
    if exc.status_code == 404 and exc.detail == "Not Found" and request.url.path.startswith("/api/"):
        return JSONResponse({"detail": no_such_route(request)}, status_code=404)
    return await http_exception_handler(request, exc)


def _database_down(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return JSONResponse(
        {"detail": "The database is unavailable right now; retry in a few seconds."},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def _storage_down(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("file storage unavailable: %s", exc)
    detail = (
        str(exc)
        if isinstance(exc, StorageNotConfigured)
        else f"File storage is unavailable right now ({exc}); retry later."
    )
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "5"})


def _secret_key_missing(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"The server cannot store secrets: {exc}"}, status_code=503)


def create_app(*, maintenance: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loop = MaintenanceThread(jobs=[run_due_schedules]) if maintenance else None
        if loop:
            loop.start()
        async with mcp.running():
            yield
        if loop:
            loop.stop()

    app = FastAPI(
        title="browserq",
        version="1",
        description="Self-hosted browser agents, speaking the Browser Use Cloud v1 API.",
        lifespan=lifespan,
    )
    for router in (
        account.router,
        tasks.router,
        control.router,
        profiles.router,
        files.router,
        search.router,
        replay.router,
        script.router,
        webhooks.router,
        schedules.router,
        billing.router,
    ):
        app.include_router(router, prefix="/api/v1")
    for v2_router in (v2_tasks.router, v2_files.router, v2_billing.router, v2_profiles.router):
        app.include_router(v2_router)  # /api/v2: the official SDKs' and n8n node's API
    app.include_router(v4_routes.router)  # /api/v4: browser-use-sdk 3.x's runs API
    app.include_router(metrics_route.router)  # /metrics, for Prometheus
    mcp = McpEndpoint(app)
    app.router.routes.append(mcp.route())  # /mcp: the MCP server over streamable HTTP, behind the API key
    for page_router in (live.router, share.router, ui.router):  # pages, outside the API prefix
        app.include_router(page_router)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(DBAPIError, _database_down)
    app.add_exception_handler(DataError, _value_refused)
    app.add_exception_handler(SecretKeyMissing, _secret_key_missing)
    app.add_exception_handler(StorageError, _storage_down)
    app.add_middleware(InputGuard)  # inside BodyLimit: it reads only bodies within the limit
    app.add_middleware(BodyLimit)
    origins = get_settings().cors_origins
    if origins:  # off unless the operator names the origins (keys travel in a header, never cookies)
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=False,
            max_age=600,
        )
    return app

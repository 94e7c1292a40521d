"""/mcp: browserq's MCP server over streamable HTTP, behind the same Bearer
key as the API. Each request stands alone (the SDK's stateless mode): there
is no MCP session to hijack or to pin to one API process, and a tool call's
progress notifications stream back on the response of the call itself.

The key is checked before the MCP layer sees the request (401 in the API's
own shape); the tools then call the app in-process with that same header, so
the caller sees exactly its own tasks, under its own limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import HTTPException
from fastapi.concurrency import run_in_threadpool
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import owner_of_key
from api.mcp_server import build_server
from shared.db import get_engine
from shared.task_api import TaskApi

PATH = "/mcp"


class McpEndpoint:
    """The ASGI app at /mcp; `running()` belongs in the API's lifespan (the SDK's task group)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.server = build_server(self._api_for)
        # Builds the SDK's session manager; its own Starlette app is not used. No DNS-rebinding
        # check on Host: a browser tricked into calling /mcp does not hold the Bearer key.
        self.server.streamable_http_app(
            stateless_http=True, transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False)
        )

    def running(self) -> AbstractAsyncContextManager[None]:
        return self.server.session_manager.run()

    def route(self) -> Route:
        """POST only: with no sessions there is no stream to GET and nothing to DELETE, and the
        spec's answer to both is 405 (an open GET stream would only hold a connection)."""
        return Route(PATH, endpoint=self, methods=["POST"], include_in_schema=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = await _refusal(Request(scope))
        if refused is not None:
            return await refused(scope, receive, send)
        await self.server.session_manager.handle_request(scope, receive, send)

    @asynccontextmanager
    async def _api_for(self, ctx: Context) -> AsyncIterator[TaskApi]:
        api = TaskApi.in_process(self.app, (ctx.headers or {}).get("authorization", ""))
        try:
            yield api
        finally:
            await api.aclose()


async def _refusal(request: Request) -> JSONResponse | None:
    """401/429 as the API answers them, or None when the key may go on."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not key.strip():
            raise HTTPException(
                401, "Missing API key: send 'Authorization: Bearer <key>'", headers={"WWW-Authenticate": "Bearer"}
            )
        await run_in_threadpool(_check_key, key.strip())
    except HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return None


def _check_key(key: str) -> None:
    with Session(get_engine()) as session:
        owner_of_key(session, key)

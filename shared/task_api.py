"""An async client of the v1 task API, for the MCP tools. It speaks HTTP like
any client, so the same tools serve `browserq mcp` (a remote server by URL)
and /mcp on the API itself (the app through an in-process ASGI transport,
with the caller's own key, so every route's checks apply unchanged)."""

from __future__ import annotations

from typing import Any

import httpx


def error_detail(response: httpx.Response) -> str:
    """What the server said was wrong, in one line (FastAPI's validation errors joined)."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:300]
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg')}" for e in detail)
    return str(detail)


class ApiError(Exception):
    """A call the server refused or could not answer, said the way a person reads it."""


class TaskApi:
    """The v1 API behind one key; errors become `ApiError` with the server's own reason."""

    def __init__(self, http: httpx.AsyncClient, where: str) -> None:
        self.http, self.where = http, where

    @classmethod
    def remote(cls, url: str, key: str) -> TaskApi:
        """A browserq server reached over the network (what `browserq mcp` talks to)."""
        http = httpx.AsyncClient(
            base_url=url.rstrip("/") + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        return cls(http, url)

    @classmethod
    def in_process(cls, app: Any, authorization: str) -> TaskApi:
        """The API app itself, called without a socket, as the caller who sent `authorization`."""
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://browserq.internal/api/v1",
            headers={"Authorization": authorization},
            timeout=30,
        )
        return cls(http, "this server")

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach browserq at {self.where} ({exc}): is it running?") from None
        if response.status_code == 401:
            raise ApiError("the server refused the API key: check BROWSERQ_API_KEY")
        if response.status_code >= 400:
            raise ApiError(f"{method} {path} answered {response.status_code}: {error_detail(response)}")
        return response.json()

    async def aclose(self) -> None:
        await self.http.aclose()

"""Refuse, before any route runs, input no route could store or answer: JSON
numbers that are not finite (NaN, Infinity, 1e999999: Python's decoder takes
them, PostgreSQL and every JSON client do not), lone surrogates (not encodable
as UTF-8, so no database takes them) and NUL characters (PostgreSQL text cannot
hold them), in a JSON body, the query string or the path. One check at the door
holds for every route and every database, instead of one per field."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_item

RAW_BODY_ROUTES = ("/api/v1/files/",)  # uploads: bytes, not JSON
NON_FINITE = (
    "is not a finite number (NaN, Infinity and numbers beyond a double's range such as 1e999999 "
    "are not valid JSON numbers): send a finite number"
)
NUL = "contains a NUL character (\\u0000), which cannot be stored: remove it"
SURROGATE = (
    "contains a lone UTF-16 surrogate (\\ud800-\\udfff without its pair), which is not a character: "
    "send valid Unicode text"
)


class _NonFinite:
    """Stands for a non-finite number in the decoded body, so its place can be named."""


_NON_FINITE = _NonFinite()


def _finite_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NON_FINITE


def decode(body: bytes) -> Any:
    """The body as Python's json module reads it, with every non-finite number
    replaced by a marker. Raises ValueError when it is not JSON at all."""
    return json.loads(body, parse_constant=lambda _name: _NON_FINITE, parse_float=_finite_float)


def text_problem(text: str) -> str | None:
    """Why this text cannot be taken, or None."""
    if "\x00" in text:
        return NUL
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return SURROGATE
    return None


def problems(value: Any, loc: list[str | int]) -> Iterator[dict[str, Any]]:
    """Every refused value in a decoded body, each as a 422 error item naming its place."""
    if value is _NON_FINITE:
        yield error_item(loc, f"the number {NON_FINITE}", "finite_number")
    elif isinstance(value, str):
        reason = text_problem(value)
        if reason:
            yield error_item(loc, f"the text {reason}", "string_unstorable")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from problems(item, [*loc, i])
    elif isinstance(value, dict):
        for key, item in value.items():
            reason = text_problem(key)
            if reason:
                yield error_item(
                    [*loc, key.encode("utf-8", "replace").decode()], f"the key {reason}", "string_unstorable"
                )
            yield from problems(item, [*loc, key if not reason else "?"])


def url_problems(scope: Scope) -> list[dict[str, Any]]:
    found = []
    reason = text_problem(scope.get("path", ""))
    if reason:
        found.append(error_item(["path"], f"the path {reason}", "string_unstorable"))
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        reason = text_problem(name) or text_problem(value)
        if reason:
            found.append(
                error_item(["query", name.replace("\x00", "?")], f"the parameter {reason}", "string_unstorable")
            )
    return found


def _is_json(scope: Scope) -> bool:
    """FastAPI decodes a body as JSON when its type says JSON or when it has no type."""
    if scope.get("method") in {"GET", "HEAD", "OPTIONS"} or scope.get("path", "").startswith(RAW_BODY_ROUTES):
        return False
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1")
    subtype = content_type.split(";")[0].strip().lower().rpartition("/")[2]
    return not content_type or subtype == "json" or subtype.endswith("+json")


class InputGuard:
    """ASGI middleware: a 422 in the documented shape for what `problems` finds;
    anything else, even a body that is not JSON, goes on to FastAPI unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        found = url_problems(scope)
        if found:
            return await _refuse(send, found)
        if not _is_json(scope):
            return await self.app(scope, receive, send)
        messages, body = await _read_all(receive)
        try:
            found = list(problems(decode(body), ["body"])) if body.strip() else []
        except (ValueError, RecursionError):
            found = []  # not JSON: FastAPI answers that itself, in the same shape
        if found:
            return await _refuse(send, found[:20])
        await self.app(scope, _replay(messages, receive), send)


async def _read_all(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return messages, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _refuse(send: Send, found: list[dict[str, Any]]) -> None:
    body = json.dumps({"detail": found}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})

"""Generated input with what hypothesis-jsonschema never generates: each route's
schemathesis case, then the same request with a non-finite number (NaN,
Infinity, 1e999999), a lone surrogate and a NUL put into its JSON body (in an
existing field and in a new one) and into its query. Every such request gets a
422 in the documented shape, with or without a key; none gets a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.chaos.test_schemathesis import api_schema, api_stack  # noqa: F401 (the fixtures, reused)
from tests.support.stack import Stack

EXAMPLES = 1  # per route (derandomized): each case is sent in up to 10 hostile forms
HOSTILE = ["NaN", "Infinity", "-Infinity", "1e999999", '"\\ud800"', '"\\udc00 tail"', '"a\\u0000b"']

schema = schemathesis.pytest.from_fixture("api_schema")
_client = httpx.Client(timeout=30, verify=False)  # one for all cases: plain HTTP to 127.0.0.1


def _bodies(body: Any) -> list[bytes]:
    """The case's body with each hostile token, by turns in a new field and (for an
    object) in place of its first field, the one most likely read."""
    if isinstance(body, dict):
        base = body
    else:
        base = {"value": body} if isinstance(body, (list, str, int, float, bool)) else {}
    plain = json.dumps(base)
    out = []
    for i, token in enumerate(HOSTILE):
        if base and i % 2:
            out.append(json.dumps({**base, next(iter(base)): "@@"}).replace('"@@"', token).encode())
        else:
            out.append((plain[:-1] + (", " if base else "") + f'"hostile": {token}}}').encode())
    return out


def _assert_refused(response: httpx.Response, what: str) -> None:
    assert response.status_code == 422, (what, response.status_code, response.text)
    detail = response.json()["detail"]
    assert detail and all({"loc", "msg", "type"} <= set(d) for d in detail), (what, detail)


@pytest.mark.timeout(900)
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_route_refuses_unstorable_input(case: schemathesis.Case, api_stack: Stack) -> None:  # noqa: F811
    sent = case.as_transport_kwargs(base_url=api_stack.url)
    keys = {"Authorization": f"Bearer {api_stack.key}", "X-Browser-Use-API-Key": api_stack.key}
    for headers in (keys, {}):
        query = {**(sent.get("params") or {}), "hostile": "a\x00b"}
        response = _client.request(sent["method"], sent["url"], params=query, headers=headers)
        _assert_refused(response, f"{case.method} {case.path} with a NUL in its query")
        if case.method.upper() in {"POST", "PUT", "PATCH"} and case.media_type in (None, "application/json"):
            for raw in _bodies(case.body)[: 7 if headers else 1]:
                response = _client.request(
                    sent["method"],
                    sent["url"],
                    params=sent.get("params"),
                    content=raw,
                    headers={**headers, "Content-Type": "application/json"},
                )
                _assert_refused(response, f"{case.method} {case.path} with {raw[:200]!r}")

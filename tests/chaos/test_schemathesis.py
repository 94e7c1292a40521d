"""Bad input from anywhere: schemathesis generates requests for every route in
the running API's /openapi.json, with and without a valid key. No request
may produce a 500, and every answer must match its documented schema. Also:
oversized bodies are refused (413 or 422) before they cost anything."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from schemathesis.checks import not_a_server_error

from tests.support.redis_server import RedisServer
from tests.support.scripted_model import ScriptedModelServer
from tests.support.stack import Stack

EXAMPLES = 12  # per route and key state: a few hundred requests in all


@pytest.fixture(scope="module")
def api_stack(model: ScriptedModelServer) -> Iterator[Stack]:
    """An API with no worker: generated tasks stay queued and cost no browser."""
    with RedisServer() as broker:
        stack = Stack(kind="postgres", model_base_url=model.base_url, workers=0,
                      env_extra={"BROWSERQ_BROKER_URL": broker.url})
        try:
            yield stack.start()
        finally:
            stack.stop()


@pytest.fixture(scope="module")
def api_schema(api_stack: Stack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{api_stack.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_route_with_generated_input(case: schemathesis.Case, api_stack: Stack) -> None:
    for headers in ({"Authorization": f"Bearer {api_stack.key}"}, {}):
        response = case.call(base_url=api_stack.url, headers=headers, timeout=30)
        checks = [not_a_server_error]
        if headers:
            checks += [content_type_conformance, response_schema_conformance]
        case.validate_response(response, checks=checks)
        if not headers and case.path != "/api/v1/ping":
            assert response.status_code in (401, 404, 405, 422), (case.path, response.status_code, response.text)


def test_oversized_bodies_are_refused(api_stack: Stack) -> None:
    with api_stack.client() as client:
        huge_text = client.post("/run-task", json={"task": "x" * (10 * 1024 * 1024)})
        many_domains = client.post(
            "/run-task", json={"task": "t", "allowed_domains": [f"d{i}.example.com" for i in range(10_000)]}
        )
    assert huge_text.status_code == 413, huge_text.text
    assert many_domains.status_code in (413, 422), many_domains.text
    # A body that lies about its length, or streams past the limit without one, is refused too.
    body = b'{"task": "' + b"y" * (3 * 1024 * 1024) + b'"}'
    streamed = httpx.post(f"{api_stack.url}/api/v1/run-task", content=iter([body[:1024], body[1024:]]),
                          headers={"Authorization": f"Bearer {api_stack.key}", "Content-Type": "application/json"})
    assert streamed.status_code == 413, streamed.text

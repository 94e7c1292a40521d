"""CORS through the whole app: off by default (a browser's preflight is refused,
no CORS headers), and with BROWSERQ_CORS_ORIGINS only the named origins may
call the API from a page, Authorization header included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from api.main import create_app
from shared.settings import reset_settings_cache

PREFLIGHT = {
    "Origin": "https://app.example.com",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


def client_for(monkeypatch: pytest.MonkeyPatch, origins: str | None) -> TestClient:
    if origins is None:
        monkeypatch.delenv("BROWSERQ_CORS_ORIGINS", raising=False)
    else:
        monkeypatch.setenv("BROWSERQ_CORS_ORIGINS", origins)
    reset_settings_cache()
    return TestClient(create_app(maintenance=False), base_url="http://api")  # the whole app, in-process


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    yield
    reset_settings_cache()


def test_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    with client_for(monkeypatch, None) as client:
        preflight = client.options("/api/v1/run-task", headers=PREFLIGHT)
        assert preflight.status_code == 405 and "access-control-allow-origin" not in preflight.headers
        ping = client.get("/api/v1/ping", headers={"Origin": "https://app.example.com"})
        assert ping.status_code == 200 and "access-control-allow-origin" not in ping.headers


def test_named_origins_may_call_the_api_others_may_not(monkeypatch: pytest.MonkeyPatch) -> None:
    with client_for(monkeypatch, "https://app.example.com, http://localhost:3000") as client:
        preflight = client.options("/api/v1/run-task", headers=PREFLIGHT)
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in preflight.headers
        ping = client.get("/api/v1/ping", headers={"Origin": "http://localhost:3000"})
        assert ping.headers["access-control-allow-origin"] == "http://localhost:3000"
        refused = client.options("/api/v1/run-task", headers={**PREFLIGHT, "Origin": "https://evil.example"})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        other = client.get("/api/v1/ping", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers

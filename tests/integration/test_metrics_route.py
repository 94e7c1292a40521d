"""GET /metrics behind BROWSERQ_METRICS_TOKEN, on the real app in-process
(an empty data folder, so a database without tables)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from shared.settings import reset_settings_cache


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("BROWSERQ_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BROWSERQ_METRICS_TOKEN", "scrape-me")
    reset_settings_cache()
    try:
        yield TestClient(create_app(maintenance=False))
    finally:
        reset_settings_cache()


def test_metrics_need_the_token_when_one_is_set(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    refused = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and "BROWSERQ_METRICS_TOKEN" in refused.json()["detail"]
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
    # No tables here: the task gauge is left out rather than failing the scrape.
    assert "browserq_step_duration_seconds_count" in ok.text and "browserq_tasks{" not in ok.text
    assert "browserq_broker_up 1.0" in ok.text

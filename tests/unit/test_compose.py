"""docker-compose.yml runs browserq as the fault-tolerance design needs: with
`docker compose config -q` when the docker CLI has the compose plugin (it then
checks the whole file against Compose's schema), and in any case by reading the
YAML with PyYAML and checking what matters for kills and restarts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.celery_app import celery_app

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV = {"BROWSERQ_SECRET_KEY": "x" * 44, "FLOWER_BASIC_AUTH": "admin:secret"}


def _has_compose_plugin() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    result = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
    return result.returncode == 0


@pytest.mark.skipif(not _has_compose_plugin(), reason="no docker compose plugin here: the YAML checks below stand in")
def test_docker_compose_config_is_valid() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **ENV},
    )
    assert result.returncode == 0, result.stderr


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", value)
    assert match and value, f"unreadable duration {value!r}"
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def test_services_come_from_one_image() -> None:
    services = _services()
    assert {"postgres", "redis", "api", "worker", "flower"} <= set(services)
    ours = [services[name] for name in ("api", "worker", "flower")]
    assert {s["image"] for s in ours} == {"browserq:latest"} and all(s["build"] == "." for s in ours)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"apt-get install[^\n]*\bchromium\b", dockerfile)
    assert "pip install" in dockerfile


def test_worker_shuts_down_softly_and_scales() -> None:
    worker = _services()["worker"]
    assert worker["init"] is True  # tini reaps Chromium's reparented helpers
    assert worker["environment"]["REMAP_SIGTERM"] == "SIGQUIT"
    soft = celery_app.conf.worker_soft_shutdown_timeout
    assert soft > 0 and _seconds(worker["stop_grace_period"]) > soft + 5
    assert "container_name" not in worker and "ports" not in worker  # `--scale worker=N` works
    assert worker["command"][:2] == ["browserq", "worker"]


def test_broker_persists_and_flower_needs_a_login() -> None:
    services = _services()
    command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in command
    assert "FLOWER_BASIC_AUTH" in services["flower"]["environment"]
    assert "flower" in services["flower"]["command"]
    for name in ("postgres", "redis", "api"):
        assert "healthcheck" in services[name], name

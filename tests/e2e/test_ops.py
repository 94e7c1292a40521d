"""Operating browserq: Prometheus metrics that move when tasks run, JSON log
lines that name their task, and Flower watching a real worker. Real API,
real workers, real Chromium; only the model is scripted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.app_server import free_port
from tests.support.scripted_model import DEFAULT_USAGE, ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
FLOWER_LOGIN = ("ops", "s3cret-flower")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def run_two_steps(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> str:
    """A real two-step task (open the site, finish); returns its id once finished."""
    key = model.script(
        [answer("Open the site", {"navigate": {"url": site.url}}), answer("Finish", {"done": {"text": "ok"}})]
    )
    with stack.client() as client:
        task_id = client.post("/run-task", json={"task": f"Open the site [script:{key}]"}).json()["id"]
        task = wait_for(client, task_id, FINAL)
    assert task["status"] == "finished", task
    return task_id


def scrape(stack: Stack) -> Samples:
    response = httpx.get(f"{stack.url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def test_metrics_change_when_a_task_runs(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    before = scrape(stack)
    run_two_steps(stack, model, site)
    after = scrape(stack)

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew("browserq_tasks", status="finished") == 1  # counted from the database
    assert (
        total(after, "browserq_tasks", status="running") >= 0 and ("browserq_tasks", (("status", "paused"),)) in after
    )
    assert grew("browserq_step_duration_seconds_count") == 2  # from the worker processes
    assert grew("browserq_step_duration_seconds_sum") > 0
    assert grew("browserq_model_latency_seconds_count", outcome="ok") == 2
    assert grew("browserq_model_tokens_total", kind="input") == 2 * DEFAULT_USAGE["input_tokens"]
    assert grew("browserq_model_tokens_total", kind="output") == 2 * DEFAULT_USAGE["output_tokens"]
    assert total(after, "browserq_browser_launches_total", reason="start") >= 1
    assert total(after, "browserq_broker_up") == 1
    assert total(after, "browserq_queue_depth") == 0  # the worker took the message


def test_worker_log_lines_of_a_task_are_json_with_its_id(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    task_id = run_two_steps(pg_stack, model, site)
    deadline = time.monotonic() + 10
    mine: list[dict] = []
    while time.monotonic() < deadline and not any("finished" in e["message"] for e in mine):
        entries = [json.loads(line) for line in pg_stack.log("worker0").splitlines() if line.startswith("{")]
        mine = [e for e in entries if e.get("task_id") == task_id]
        time.sleep(0.2)
    assert any(e["logger"] == "browserq.worker" and "started" in e["message"] for e in mine), mine
    assert any("finished" in e["message"] for e in mine), mine
    assert all({"ts", "level", "logger", "message", "pid"} <= set(e) for e in mine)
    # Celery's own lines come out as JSON too, without a task id of ours.
    assert any(e["logger"].startswith("celery") and e["task_id"] is None for e in entries)


# ------------------------------------------------------------------ Flower


@pytest.fixture(scope="module")
def flower(pg_stack: Stack) -> Iterator[str]:
    """`browserq flower` as its own process against the Redis stack; yields its URL."""
    port = free_port()
    env = {**pg_stack.env, "BROWSERQ_FLOWER_BASIC_AUTH": ":".join(FLOWER_LOGIN), "FLOWER_INSPECT_TIMEOUT": "3000"}
    log = open(pg_stack.data_dir / "flower.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "flower", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthcheck", timeout=1).text == "OK":
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, pg_stack.log("flower")
            time.sleep(0.2)
        else:
            raise AssertionError("Flower did not start:\n" + pg_stack.log("flower"))
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_flower_sees_the_worker_and_a_finished_task(
    flower: str, pg_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    assert httpx.get(f"{flower}/api/workers", timeout=5).status_code == 401  # the API needs the login
    auth = httpx.BasicAuth(*FLOWER_LOGIN)
    assert httpx.get(f"{flower}/api/workers", auth=httpx.BasicAuth("ops", "wrong"), timeout=5).status_code == 401
    workers: dict = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all("active_queues" in w for w in workers.values() or [{}]):
        # A refresh asks every worker over the broker (inspect); a reply can miss the timeout on a busy machine.
        workers = httpx.get(f"{flower}/api/workers", params={"refresh": 1}, auth=auth, timeout=30).json()
    assert workers, pg_stack.log("flower")
    (info,) = workers.values()
    assert "browserq.stealth" in [q["name"] for q in info["active_queues"]]  # the default kind's queue

    task_id = run_two_steps(pg_stack, model, site)
    seen: dict = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and seen.get("state") != "SUCCESS":
        tasks = httpx.get(f"{flower}/api/tasks", auth=auth, timeout=5).json()
        seen = next((t for t in tasks.values() if task_id in str(t.get("args"))), {})
        time.sleep(0.2)
    assert seen.get("state") == "SUCCESS", seen
    # The Celery task ends once its agent runs on the process's loop (issue 15): its result says
    # it was started there; the task's own end is in the database (and the API), not in Celery.
    assert seen["name"] == "browserq.run_task" and seen["result"] == "'started'"


def test_flower_refuses_to_run_without_a_login(pg_stack: Stack) -> None:
    env = {k: v for k, v in pg_stack.env.items() if k not in {"BROWSERQ_FLOWER_BASIC_AUTH", "FLOWER_BASIC_AUTH"}}
    result = subprocess.run(
        [sys.executable, "-m", "cli", "flower"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "BROWSERQ_FLOWER_BASIC_AUTH=user:password" in result.stderr


def test_a_worker_on_another_machine_serves_its_own_metrics(tmp_path: Path) -> None:
    """BROWSERQ_WORKER_METRICS_PORT: a lone worker (own data folder, as on another host) serves /metrics."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROWSERQ_")}
    env.update(BROWSERQ_DATA_DIR=str(tmp_path), BROWSERQ_WORKER_METRICS_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "worker", "--concurrency", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline, body = time.monotonic() + 120, ""  # importing the worker is slow on a busy machine
        while time.monotonic() < deadline and not body:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                assert proc.poll() is None, "the worker exited"
                time.sleep(0.2)
        assert "browserq_step_duration_seconds_count" in body
        assert "browserq_tasks" not in body  # the database gauges are the API's
        assert list((tmp_path / "metrics").glob("*/histogram_*.db"))  # counted in the shared files
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

"""Browser kinds side by side in one deployment (issue 24): a worker of each kind,
tasks routed to a worker of the kind they ask for, and what a page of public
bot-detection checks and FingerprintJS BotD read in each: the stealth (default) and
headful kinds pass as a person's browser, the lean kind is plainly detected. A kind
no worker serves is refused at submit, in the embedded mode too."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.detection_site import DetectionSite
from tests.support.forward_proxy import ForwardProxy
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.stack import Stack, poll, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}
WORKER_KINDS = ["", "headful", "lean"]  # worker 0 is started without --browser-kind: the default, stealth


@pytest.fixture(scope="module")
def detection() -> Iterator[DetectionSite]:
    with DetectionSite() as site:
        yield site


@pytest.fixture(scope="module")
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as server:
        yield server


@pytest.fixture(scope="module")
def kinds_stack(model: ScriptedModelServer, proxy: ForwardProxy) -> Iterator[Stack]:
    """A worker of each kind; a German proxy, and the operator's locale and time zone
    for tasks that run without one."""
    stack = Stack(
        kind="postgres",
        model_base_url=model.base_url,
        workers=len(WORKER_KINDS),
        concurrency=1,
        worker_kinds=WORKER_KINDS,
        env_extra={
            "BROWSERQ_PROXIES": json.dumps({"de": proxy.url}),
            "BROWSERQ_BROWSER_LOCALE": "fi-FI",
            "BROWSERQ_BROWSER_TIMEZONE": "Europe/Helsinki",
        },
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def submit(client: httpx.Client, model: ScriptedModelServer, url: str, **fields: Any) -> httpx.Response:
    key = model.script(
        [
            answer("Open the checks", {"navigate": {"url": url}}),
            answer("Let them run", {"wait": {"seconds": 1}}),
            answer("Done", {"done": {"text": "checked", "success": True}}),
        ]
    )
    return client.post("/run-task", json={"task": f"Open the detection page [script:{key}]", **fields})


def submit_when_served(client: httpx.Client, model: ScriptedModelServer, url: str, **fields: Any) -> httpx.Response:
    """Submit once a worker of the kind is known (its first presence row written); 422 until then."""

    def accepted() -> httpx.Response | None:
        response = submit(client, model, url, **fields)
        return response if response.status_code != 422 else None

    return poll(f"a worker of {fields.get('browser_kind', 'the default kind')}", accepted, timeout=60, every=0.5)


def test_each_kind_runs_on_its_worker_and_reads_as_designed(
    kinds_stack: Stack, model: ScriptedModelServer, detection: DetectionSite, proxy: ForwardProxy
) -> None:
    runs = {kind: secrets.token_hex(4) for kind in ("stealth", "headful", "lean")}
    asks: dict[str, dict[str, Any]] = {
        "stealth": {"use_proxy": True, "proxy_country_code": "de"},  # no browser_kind: the default
        "headful": {"browser_kind": "headful", "use_proxy": False},
        "lean": {"browser_kind": "lean", "use_proxy": False},
    }
    ids: dict[str, str] = {}
    with kinds_stack.client() as client:
        for kind, fields in asks.items():
            # A worker is known once its first presence row is written: until then its kind is refused.
            response = submit_when_served(client, model, detection.url(runs[kind]), **fields)
            assert response.status_code == 200, response.text
            ids[kind] = response.json()["id"]
        finished = {kind: wait_for(client, task_id, FINAL, timeout=120) for kind, task_id in ids.items()}
    for kind, task in finished.items():
        assert task["status"] == "finished", (kind, task)
        assert task["browser_kind"] == kind  # the default resolved at submit for the one that named none
        worker = WORKER_KINDS.index("" if kind == "stealth" else kind)
        assert kinds_stack.worker_running(ids[kind]) == worker, f"{kind} task ran elsewhere"

    verdicts = {kind: detection.verdict(run) for kind, run in runs.items()}
    for kind in ("stealth", "headful"):
        seen = verdicts[kind]
        assert seen["botd"] == {"bot": False}, (kind, seen)
        assert seen["signals"] == [], (kind, seen)
        assert "Headless" not in seen["user_agent"] and "Headless" not in seen["headers"]["user-agent"]
        assert "Headless" not in seen["headers"]["sec-ch-ua"] and all("Headless" not in b for b in seen["brands"])
        major = re.search(r"Chrome/(\d+)", seen["user_agent"]).group(1)  # type: ignore[union-attr]
        assert f"Chromium/{major}" in seen["brands"], (kind, seen)  # UA and client hints name one version
    # Locale and time zone: the proxy's country's, else the operator's.
    assert verdicts["stealth"]["language"] == "de-DE" and verdicts["stealth"]["timezone"] == "Europe/Berlin"
    assert verdicts["stealth"]["headers"]["accept-language"].startswith("de-DE")
    assert any(f"127.0.0.1:{detection.port}" in line for line in proxy.forwarded), proxy.forwarded
    assert verdicts["headful"]["language"] == "fi-FI" and verdicts["headful"]["timezone"] == "Europe/Helsinki"
    # The lean kind is what it says: detectable.
    assert verdicts["lean"]["botd"]["bot"] is True, verdicts["lean"]
    assert "webdriver" in verdicts["lean"]["signals"], verdicts["lean"]


def test_a_kind_whose_workers_stopped_is_refused_and_its_display_is_gone(
    kinds_stack: Stack, model: ScriptedModelServer, detection: DetectionSite
) -> None:
    with kinds_stack.client() as client:
        response = poll(
            "the headful worker to be known",
            lambda: (
                r
                if (r := submit(client, model, detection.url("x"), browser_kind="headful")).status_code == 200
                else None
            ),
            timeout=60,
            every=0.5,
        )
        assert wait_for(client, response.json()["id"], FINAL, timeout=120)["status"] == "finished"
    xvfb = [int(pid) for pid in re.findall(r"Xvfb pid (\d+)", kinds_stack.log("worker1"))]
    assert xvfb, "the headful worker started no virtual display"
    kinds_stack.kill_worker(1, signal.SIGTERM, whole_group=False)
    kinds_stack.worker_procs[1].wait(60)
    poll("the headful worker's Xvfb to end", lambda: not any(_alive(pid) for pid in xvfb), timeout=30)
    with kinds_stack.client() as client:
        response = submit(client, model, detection.url("y"), browser_kind="headful")
    assert response.status_code == 422, response.text
    assert "browserq worker --browser-kind headful" in response.text


def test_unserved_and_unknown_kinds_are_refused_in_the_embedded_mode(
    embedded_stack: Stack, model: ScriptedModelServer, detection: DetectionSite
) -> None:
    with embedded_stack.client() as client:
        lean = submit(client, model, detection.url("lean"), browser_kind="lean")
        turbo = submit(client, model, detection.url("turbo"), browser_kind="turbo")
        tasks = client.get("/tasks", params={"page": 1, "limit": 50}).json()
    v2 = {"X-Browser-Use-API-Key": embedded_stack.key}
    v2_lean = httpx.post(
        f"{embedded_stack.url}/api/v2/tasks", json={"task": "detection page", "browserKind": "lean"}, headers=v2
    )
    v2_turbo = httpx.post(
        f"{embedded_stack.url}/api/v2/tasks", json={"task": "detection page", "browserKind": "turbo"}, headers=v2
    )
    assert lean.status_code == 422 and "no worker serves browser_kind 'lean'" in lean.text, lean.text
    assert "browserq worker --browser-kind lean" in lean.text
    assert turbo.status_code == 422 and "browser_kind" in turbo.text, turbo.text
    assert v2_lean.status_code == 422 and "no worker serves browser_kind 'lean'" in v2_lean.text, v2_lean.text
    assert v2_turbo.status_code == 422 and v2_turbo.json()["detail"][0]["loc"] == ["body", "browserKind"], v2_turbo.text
    assert all("detection page" not in t["task"] for t in tasks.get("tasks", [])), "a refused task was stored"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its reaper is gone for good
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except OSError:
        return False

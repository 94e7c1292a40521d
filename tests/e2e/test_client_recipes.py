"""docs/clients.md, tried as written: each block marked `<!-- recipe: NAME -->`
runs against a real server with only the host, the key and a script marker in
the task text substituted, with the client versions the lock pins (the 2.x SDK's
recipe in its own venv, tests/support/sdk2_venv.py); and the n8n v1 community
node's requests, exactly as its source (n8n-nodes-browser-use 0.1.1, Local Bridge
mode) builds them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.sdk2_venv import sdk2_python
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
DOC = Path(__file__).resolve().parents[2] / "docs" / "clients.md"
RECIPE = re.compile(r"<!-- recipe: ([\w-]+) -->\n```(\w+)\n(.*?)```", re.DOTALL)
HEADING_TASK = "Open https://example.com and report the heading"
WAIT_TASK = "Open https://example.com and wait there"
FINAL = {"finished", "failed", "stopped"}


def recipes() -> dict[str, tuple[str, str]]:
    return {name: (lang, code) for name, lang, code in RECIPE.findall(DOC.read_text())}


def run_recipe(name: str, stack: Stack, key: str, script: str) -> str:
    lang, code = recipes()[name]
    marker = f" [script:{script}]"
    code = (
        code.replace("http://127.0.0.1:8000", stack.url)
        .replace("bq_your_key", key)
        .replace(HEADING_TASK, HEADING_TASK + marker)
        .replace(WAIT_TASK, WAIT_TASK + marker)
    )
    python = str(sdk2_python()) if name == "sdk2" else sys.executable  # 2.x cannot share the test venv
    command = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else [python, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, (name, done.stdout, done.stderr)
    return done.stdout


def test_every_recipe_is_run_here() -> None:
    assert set(recipes()) == {
        "curl",
        "docs-basic",
        "docs-structured",
        "docs-control",
        "sdk2",
        "sdk3-v2",
        "mcp-http",
        "sdk-v4",
    }


@pytest.mark.parametrize("name", ["curl", "docs-basic", "sdk2", "mcp-http"])
def test_the_recipes_that_report_the_heading(pg_stack: Stack, model: ScriptedModelServer, name: str) -> None:
    script = model.script([answer("Finish", {"done": {"text": "Example Domain", "success": True}})])
    out = run_recipe(name, pg_stack, pg_stack.key, script)
    assert "Example Domain" in out and ("finished" in out or "True" in out), out


def test_the_v4_sdk_recipe_with_a_judge_and_a_cost_cap(pg_stack: Stack, model: ScriptedModelServer) -> None:
    verdict = {"verdict": True, "reasoning": "The heading matches.", "failure_reason": None}
    script = model.script([answer("Finish", {"done": {"text": "Example Domain", "success": True}}), verdict])
    out = run_recipe("sdk-v4", pg_stack, pg_stack.key, script).splitlines()
    # one step and the judge at the scripted default usage (100 in / 20 out), gpt-4.1 at $2 / $8
    assert out[:2] == ["completed Example Domain 0.00072", "judge: True"], out
    assert [line.split()[1] for line in out[2:]] == ["run.created", "browser.ready", "agent.step", "run.completed"]


@pytest.mark.parametrize(
    ("name", "printed"), [("docs-structured", "heading: Example Domain"), ("sdk3-v2", "finished True Example Domain")]
)
def test_the_structured_output_recipes(pg_stack: Stack, model: ScriptedModelServer, name: str, printed: str) -> None:
    script = model.script([answer("Finish", {"done": {"data": {"heading": "Example Domain"}}})])
    assert run_recipe(name, pg_stack, pg_stack.key, script).strip() == printed


def test_the_task_control_recipe(pg_stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    script = model.script(
        [
            answer("Open", {"navigate": {"url": site.url + "/"}}),
            {"_delay": 120.0, "reply": answer("Finish", {"done": {"text": "late"}})},
        ]
    )
    assert run_recipe("docs-control", pg_stack, pg_stack.key, script).strip() == "final status: stopped"


def node_base_url(credential_url: str) -> str:
    """The node's own rule (BrowserUse.node.ts, Local Bridge): why only the exact form works."""
    if credential_url.endswith("/api/v1"):
        return credential_url
    return re.sub(r"/+", "/", f"{credential_url}/api/v1")


def test_n8n_v1_node_requests(pg_stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    assert node_base_url(f"{pg_stack.url}/api/v1") == f"{pg_stack.url}/api/v1"
    assert node_base_url(f"{pg_stack.url}/api/v1/").startswith("http:/1")  # the node's bug: "http://" collapses
    assert node_base_url(pg_stack.url).startswith("http:/1")
    base = node_base_url(f"{pg_stack.url}/api/v1")
    auth = {"Authorization": f"Bearer {pg_stack.key}"}
    script = model.script(
        [
            answer("Open", {"navigate": {"url": site.url + "/"}}),
            {"_delay": 120.0, "reply": answer("Finish", {"done": {"text": "late"}})},
        ]
    )
    with httpx.Client(timeout=30) as n8n:
        assert n8n.get(f"{base}/ping", headers=auth).json() == {}
        created = n8n.post(
            f"{base}/run-task",
            headers={**auth, "Content-Type": "application/json"},
            json={"task": f"Wait [script:{script}]", "save_browser_data": False},
        )
        task_id = created.json()["id"]
        with pg_stack.client() as client:
            wait_for(client, task_id, {"running"})
        assert n8n.get(f"{base}/task/{task_id}/status", headers=auth).json() in {"running", "paused"}
        assert n8n.put(f"{base}/pause-task/{task_id}", headers=auth).json() == {}
        with pg_stack.client() as client:
            wait_for(client, task_id, {"paused"})
        assert n8n.put(f"{base}/resume-task/{task_id}", headers=auth).json() == {}
        assert n8n.put(f"{base}/stop-task/{task_id}", headers=auth).json() == {}
        assert n8n.get(f"{base}/task/{task_id}", headers=auth).json()["id"] == task_id
        media = n8n.get(f"{base}/task/{task_id}/media?type=screenshot", headers=auth)
        assert media.status_code == 200 and "recordings" in media.json()
        listed = n8n.get(f"{base}/tasks?limit=50", headers=auth).json()
        assert any(t["id"] == task_id for t in listed["tasks"])
        with pg_stack.client() as client:
            assert wait_for(client, task_id, FINAL)["status"] == "stopped"

"""browser-use-sdk 2.x (2.0.15, pinned in tests/clients/sdk2/uv.lock) still drives
browserq: the test set's venv has 3.x, so its script (tests/clients/sdk2/drive.py) runs
in a venv of its own, built from that lock. One script, several tasks: create and
complete, a schema and the list filters, a failed task, a task waiting for a person
(paused) read and listed and stopped, errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_ask_human import QUESTION, ask_script
from tests.e2e.test_tasks_api import login_script
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.sdk2_venv import sdk2_python
from tests.support.site import ACCOUNT_CODE, PASSWORD, SiteServer
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e
DRIVE = Path(__file__).resolve().parents[1] / "clients" / "sdk2" / "drive.py"


def test_sdk2_drives_browserq_as_before(pg_stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    python = sdk2_python()
    version = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('browser-use-sdk'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip().startswith("2."), version.stdout
    args = {
        "base_url": f"{pg_stack.url}/api/v2",
        "key": pg_stack.key,
        "password": PASSWORD,
        "login_task": f"Log in and read the account code [script:{model.script(login_script(site))}]",
        "schema_task": f"Report [script:{model.script([answer('Report', {'done': {'data': {'code': 'XYZ-1'}}})])}]",
        "loop_task": f"Loop [script:{model.script([answer('Wait', {'wait': {'seconds': 0.1}})] * 3)}]",
        "ask_task": f"Pick a colour [script:{ask_script(model, site)}]",
    }
    done = subprocess.run(
        [python, str(DRIVE)], input=json.dumps(args), capture_output=True, text=True, timeout=400, check=False
    )
    assert done.returncode == 0, (done.stdout, done.stderr[-4000:])
    out = json.loads(done.stdout)

    login = out["login"]
    assert login["session_is_id"] and login["status"] == "finished" and login["is_success"] is True
    assert login["output"] == ACCOUNT_CODE and login["steps"] == [1, 2, 3]
    assert login["first_action"] == {"navigate": {"url": f"{site.url}/login", "new_tab": False}}
    assert login["metadata"] == {"ref": "sdk2"} and login["llm"] == "gpt-4.1" and login["status_route"] == "finished"
    assert out["schema"] == {"parsed": "XYZ-1", "in_finished": True, "in_stopped": False}
    failed = out["failed"]  # 2.x's helpers end on finished, stopped or paused: never `failed`
    assert failed["status"] == "finished" and failed["is_success"] is False and "step limit" in failed["output"]
    assert out["paused"] == {
        "status": "started",
        "question": QUESTION,
        "status_route": "started",
        "listed": "started",
        "stopped": "stopped",
    }
    errors = out["errors"]
    assert errors["missing"]["status"] == 404
    assert errors["max_steps"]["status"] == 422 and errors["max_steps"]["body"]["detail"][0]["loc"] == [
        "body",
        "maxSteps",
    ]
    assert errors["session"]["status"] == 422

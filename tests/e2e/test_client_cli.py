"""The `browserq` client commands, run as a person would (a subprocess with
BROWSERQ_URL and BROWSERQ_API_KEY) against a real server, workers and Chromium."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.scripted_model import ScriptedModelServer
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
FINAL = {"finished", "failed", "stopped"}


def answer(goal: str, *actions: dict) -> dict:
    return {"evaluation_previous_goal": "Looks right", "memory": "", "next_goal": goal, "action": list(actions)}


def cli_env(stack: Stack, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROWSERQ_")}
    env.update(
        BROWSERQ_URL=stack.url,
        BROWSERQ_API_KEY=stack.key,
        BROWSERQ_DATA_DIR=str(tmp_path),
        COLUMNS="160",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def bq(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def slow_script(model: ScriptedModelServer, site: SiteServer, delay: float) -> str:
    """Step 1 opens the site; the model then takes `delay` seconds to answer step 2."""
    return model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            {"_delay": delay, "reply": answer("Finish", {"done": {"text": "late"}})},
        ]
    )


def test_run_follow_prints_each_step_then_the_output(
    embedded_stack: Stack, model: ScriptedModelServer, site: SiteServer, tmp_path: Path
) -> None:
    key = model.script(
        [
            answer("Open the site", {"navigate": {"url": site.url}}),
            answer("Report", {"done": {"text": "The answer is 42"}}),
        ]
    )
    result = bq(cli_env(embedded_stack, tmp_path), "run", f"Find the answer [script:{key}]", "--follow")
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "submitted" in out.splitlines()[0]
    assert out.index("step 1") < out.index("→ Open the site") < out.index("step 2") < out.index("→ Report")
    assert f'navigate(url="{site.url}"' in out
    assert "task finished after 2 step(s)" in out and out.rstrip().endswith("The answer is 42")


def test_tasks_lists_and_stop_pause_resume_control(
    embedded_stack: Stack, model: ScriptedModelServer, site: SiteServer, tmp_path: Path
) -> None:
    env = cli_env(embedded_stack, tmp_path)
    submitted = bq(env, "run", f"Wait for a slow model [script:{slow_script(model, site, 20)}]")
    assert submitted.returncode == 0, submitted.stderr
    task_id = submitted.stdout.strip()
    listed = bq(env, "tasks", "--limit", "5")
    assert task_id in listed.stdout and "Wait for a slow model" in listed.stdout
    as_json = json.loads(bq(env, "tasks", "--json", "--limit", "100").stdout)
    assert task_id in [t["id"] for t in as_json["tasks"]]

    with embedded_stack.client() as client:
        wait_for(client, task_id, {"running"})
        paused = bq(env, "pause", task_id)
        assert paused.returncode == 0 and "pause requested" in paused.stdout, paused.stderr
        assert client.get(f"/task/{task_id}/status").json() == "paused"
        assert bq(env, "resume", task_id).returncode == 0
        assert client.get(f"/task/{task_id}/status").json() in {"running", "created"}
        stopped = bq(env, "stop", task_id)
        assert stopped.returncode == 0 and f"task {task_id}: stopped" in stopped.stdout
        assert wait_for(client, task_id, FINAL)["status"] == "stopped"
    again = bq(env, "stop", task_id)
    assert again.returncode == 1 and "409" in again.stderr and "stopped" in again.stderr
    assert "stopped" in bq(env, "tasks", "--status", "stopped", "--limit", "100").stdout


def test_ctrl_c_while_following_asks_and_stops_the_task(
    embedded_stack: Stack, model: ScriptedModelServer, site: SiteServer, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "run", f"Slow one [script:{slow_script(model, site, 30)}]", "--follow"],
        env=cli_env(embedded_stack, tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = Output(proc)
    try:
        output.wait_for("step 1", timeout=90)  # the first step arrived; the model now thinks for 30 s
        proc.send_signal(signal.SIGINT)
        output.wait_for("Stop task", timeout=15)
        assert proc.stdin is not None
        proc.stdin.write(b"y\n")
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    task_id = output.text.split("task ", 1)[1].split()[0]
    assert f"task {task_id}: stopped" in output.text
    with embedded_stack.client() as client:
        assert client.get(f"/task/{task_id}/status").json() == "stopped"


def test_errors_say_what_to_do_and_the_dev_key_file_is_the_default(embedded_stack: Stack, tmp_path: Path) -> None:
    wrong = bq(cli_env(embedded_stack, tmp_path, BROWSERQ_API_KEY="bq_wrong"), "tasks")
    assert wrong.returncode == 1 and "refused the API key" in wrong.stderr
    down = bq(cli_env(embedded_stack, tmp_path, BROWSERQ_URL="http://127.0.0.1:9"), "tasks")
    assert down.returncode == 1 and "cannot reach browserq at http://127.0.0.1:9" in down.stderr
    env = cli_env(embedded_stack, tmp_path)
    del env["BROWSERQ_API_KEY"]
    assert "no API key" in bq(env, "tasks").stderr
    (tmp_path / "api-key").write_text(embedded_stack.key)  # what `browserq dev` leaves in its data folder
    listed = bq(env, "tasks", "--json")
    assert listed.returncode == 0 and "total_count" in listed.stdout


class Output:
    """Collects a process's output as it comes (prompts end without a newline)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc, self.chunks = proc, []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := os.read(self.proc.stdout.fileno(), 4096):
            self.chunks.append(chunk)

    @property
    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            assert time.monotonic() < deadline and self.proc.poll() is None, f"no {needle!r} in:\n{self.text}"
            time.sleep(0.05)

"""Scheduled tasks: the API, a run made by the real maintenance loop, and the
dispatcher's claim: two dispatcher processes on one PostgreSQL, driven in
lockstep through an hour of made-up time, start each run exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.stack import Stack, drop_postgres_db, fresh_postgres_db

pytestmark = pytest.mark.e2e


def wait_schedule(client: httpx.Client, schedule_id: str, predicate, timeout: float = 30) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = client.get(f"/scheduled-task/{schedule_id}").json()
        if predicate(view):
            return view
        time.sleep(0.2)
    raise AssertionError(f"scheduled task {schedule_id} did not get there: {view}")


def test_a_schedule_runs_and_can_be_read_changed_and_deleted(stack: Stack, model: ScriptedModelServer) -> None:
    key = stack.cli("keys", "create", "schedules").strip().splitlines()[-1]
    script = model.script([answer("Finish", {"done": {"text": "scheduled ok"}})])
    # The first run is one interval after start_at (the official example): start 58 s ago, every minute.
    start_at = datetime.now(UTC) - timedelta(seconds=58)
    body = {
        "task": f"Say ok [script:{script}]",
        "schedule_type": "interval",
        "interval_minutes": 1,
        "start_at": start_at.isoformat(),
        "metadata": {"kind": "nightly"},
        "max_agent_steps": 5,
        "secrets": {"pw": "hunter2"},
    }
    with stack.client(key) as client:
        created = client.post("/scheduled-task", json=body)
        assert created.status_code == 200, created.text
        schedule_id = created.json()["id"]
        first = client.get(f"/scheduled-task/{schedule_id}").json()
        start = datetime.fromisoformat(first["start_at"])
        assert first["run_count"] == 0 and datetime.fromisoformat(first["next_run_at"]) == start + timedelta(minutes=1)
        view = wait_schedule(client, schedule_id, lambda v: v["run_count"] == 1)
        task = client.get(f"/task/{view['last_task_id']}").json()  # an ordinary task of this key
        assert task["task"] == body["task"] and task["metadata"] == {"kind": "nightly"}
        assert datetime.fromisoformat(view["next_run_at"]) == start + timedelta(minutes=2)
        assert datetime.fromisoformat(view["end_at"]) == start + timedelta(days=365)
        assert view["is_active"] and view["created_at"] and view["updated_at"] and view["skipped_count"] == 0
        assert view["task"] == body["task"] and view["max_agent_steps"] == 5 and "secrets" not in view
        assert "hunter2" not in json.dumps(view)

        page = client.get("/scheduled-tasks", params={"page": 1, "limit": 10}).json()
        assert page["total_count"] == 1 and page["tasks"][0]["id"] == schedule_id and page["total_pages"] == 1

        paused = client.put(f"/scheduled-task/{schedule_id}", json={"is_active": False, "max_agent_steps": 7})
        assert paused.status_code == 200, paused.text
        assert paused.json()["is_active"] is False and isinstance(paused.json()["next_run_at"], str)
        assert paused.json()["max_agent_steps"] == 7 and paused.json()["interval_minutes"] == 1
        cron = client.put(
            f"/scheduled-task/{schedule_id}",
            json={"is_active": True, "schedule_type": "cron", "cron_expression": "30 4 * * *"},
        ).json()
        next_run = datetime.fromisoformat(cron["next_run_at"])
        assert (next_run.hour, next_run.minute) == (4, 30) and cron["interval_minutes"] is None

        for bad in ({"cron_expression": "61 * * * *"}, {"end_at": "2000-01-01T00:00:00Z"}, {"task": ""}):
            assert client.put(f"/scheduled-task/{schedule_id}", json=bad).status_code == 422, bad
        with stack.client() as other:  # another key does not see it
            assert other.get(f"/scheduled-task/{schedule_id}").status_code == 404
        assert client.delete(f"/scheduled-task/{schedule_id}").json() == {}
        assert client.get(f"/scheduled-task/{schedule_id}").status_code == 404


def test_bad_schedules_are_refused(pg_stack: Stack) -> None:
    base = {"task": "x", "schedule_type": "interval", "interval_minutes": 5}
    with pg_stack.client() as client:
        for bad in (
            {**base, "interval_minutes": None},
            {**base, "schedule_type": "cron"},
            {**base, "schedule_type": "cron", "cron_expression": "every day"},
            {**base, "schedule_type": "hourly"},
            {**base, "interval_minutes": 0},
            {**base, "start_at": "2030-01-02T00:00:00Z", "end_at": "2030-01-01T00:00:00Z"},
            {**base, "llm_model": "no-such-model"},
        ):
            response = client.post("/scheduled-task", json=bad)
            assert response.status_code == 422, (bad, response.text)
        later = client.post("/scheduled-task", json={**base, "start_at": "2099-01-01T09:00:00+02:00"}).json()
        view = client.get(f"/scheduled-task/{later['id']}").json()
        assert view["next_run_at"] == "2099-01-01T07:05:00Z" and view["run_count"] == 0
        client.delete(f"/scheduled-task/{later['id']}")


DISPATCHER = r"""
import json, sys
from datetime import datetime
from sqlalchemy import update
from shared.db import session_scope
from shared.models import Task, TaskStatus
from api.maintenance.schedules import run_due

for line in sys.stdin:
    command, _, arg = line.strip().partition(" ")
    if command == "run":
        now = datetime.fromisoformat(arg)
        print(json.dumps(run_due(now) + run_due(now)), flush=True)
    elif command == "finish":  # what a worker would do: the runs end
        with session_scope() as session:
            session.execute(update(Task).where(Task.status == TaskStatus.created).values(status=TaskStatus.finished))
        print("[]", flush=True)
"""

SETUP = r"""
import sys
from datetime import datetime, timedelta
from shared.db import session_scope
from shared.keys import create_api_key
from shared.models import ScheduledTask
t0 = datetime.fromisoformat(sys.argv[1])
with session_scope() as session:
    key, _ = create_api_key(session, "dispatch")
    session.add(ScheduledTask(id="sched-1", owner_id=key.id, request={"task": "tick"}, schedule_type="interval",
                              interval_minutes=1, start_at=t0, end_at=t0 + timedelta(days=1), next_run_at=t0))
"""


def test_two_dispatchers_start_each_run_exactly_once() -> None:
    db_url = fresh_postgres_db()
    data_dir = tempfile.mkdtemp(prefix="browserq-dispatch-")
    env = {
        "BROWSERQ_DATABASE_URL": db_url,
        "BROWSERQ_DATA_DIR": data_dir,
        "OPENAI_API_KEY": "test",
        "BROWSERQ_SECRET_KEY": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDE=",
        "PATH": "/usr/bin:/bin",
    }
    t0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    procs: list[subprocess.Popen] = []
    try:
        for script, args in (
            ("from shared.migrate import upgrade_database; upgrade_database()", []),
            (SETUP, [t0.isoformat()]),
        ):
            done = subprocess.run(
                [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", DISPATCHER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]

        def step(command: str, to: list[subprocess.Popen]) -> list[str]:
            for proc in to:
                proc.stdin.write(command + "\n")  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
            return [tid for proc in to for tid in json.loads(proc.stdout.readline())]  # type: ignore[union-attr]

        # 20 minutes, in steps of 20 s; each run's task ends before the next is due.
        started: list[str] = []
        t_step = time.monotonic()
        for i in range(0, 20 * 60 + 1, 20):
            started += step(f"run {(t0 + timedelta(seconds=i)).isoformat()}", procs)
            step("finish", procs[:1])
        print(f"{(time.monotonic() - t_step) / 61 * 1000:.0f} ms a step")
        assert len(started) == 21 and len(set(started)) == 21  # 12:00, 12:01, ... 12:20, once each

        # Five more minutes in which the runs never end: the first starts, the other four are skipped.
        later = [
            step(f"run {(t0 + timedelta(minutes=20 + m, seconds=s)).isoformat()}", procs)
            for m in range(1, 6)
            for s in (0, 30)
        ]
        assert sum(len(ids) for ids in later) == 1
    finally:
        for proc in procs:
            proc.stdin.close()  # type: ignore[union-attr]
            proc.wait(timeout=30)
    import psycopg

    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT run_count, skipped_count, last_skip_reason, next_run_at FROM scheduled_tasks"
        ).fetchone()
        tasks = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    drop_postgres_db(db_url)
    run_count, skipped, reason, next_run = row
    assert (run_count, tasks, skipped) == (22, 22, 4)
    assert "still created" in reason
    assert next_run == t0 + timedelta(minutes=26)

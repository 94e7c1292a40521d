"""One tenant's bad row never stops the housekeeping of the others: a schedule
whose run the database refuses (a NUL that reached its stored request) is set
aside with its reason visible to its owner and counted in /metrics, while
another key's schedule runs on time. PostgreSQL only: SQLite stores a NUL."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from tests.e2e.test_schedules import wait_schedule
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def _failures(stack: Stack, job: str) -> float:
    text = httpx.get(f"{stack.url}/metrics", timeout=10).text
    found = re.search(r'browserq_maintenance_row_failures_total\{job="' + job + r'"\} ([0-9.e+]+)', text)
    return float(found.group(1)) if found else 0.0


def test_a_schedule_the_database_refuses_is_set_aside_and_others_run(
    pg_stack: Stack, model: ScriptedModelServer
) -> None:
    key_a = pg_stack.cli("keys", "create", "tenant-a").strip().splitlines()[-1]
    key_b = pg_stack.cli("keys", "create", "tenant-b").strip().splitlines()[-1]
    failures_before = _failures(pg_stack, "schedules")
    later = {
        "task": "fine for now",
        "schedule_type": "interval",
        "interval_minutes": 600,
        "start_at": "2099-01-01T00:00:00Z",
    }
    with pg_stack.client(key_a) as a, pg_stack.client(key_b) as b:
        bad_id = a.post("/scheduled-task", json=later).json()["id"]
        # What the API now refuses at the door, put in the row the way older versions stored it.
        with psycopg.connect(pg_stack.db_url) as conn:
            (request,) = conn.execute("SELECT request::text FROM scheduled_tasks WHERE id = %s", [bad_id]).fetchone()
            request = {**json.loads(request), "task": "bad\x00"}
            conn.execute(
                "UPDATE scheduled_tasks SET request = %s::json, next_run_at = now() WHERE id = %s",
                [json.dumps(request), bad_id],
            )
        time.sleep(2)  # the dispatcher meets the bad row first, round after round on the old code
        script = model.script([answer("Finish", {"done": {"text": "ran"}})])
        started = time.monotonic()
        # An interval schedule first runs one interval after start_at (the official behaviour):
        # started 58 s ago, every minute, it is due in about 2 s.
        start_at = (datetime.now(UTC) - timedelta(seconds=58)).isoformat()
        good = b.post(
            "/scheduled-task",
            json={
                "task": f"Say ran [script:{script}]",
                "schedule_type": "interval",
                "interval_minutes": 1,
                "start_at": start_at,
            },
        )
        assert good.status_code == 200, good.text
        view = wait_schedule(b, good.json()["id"], lambda v: v["run_count"] == 1, timeout=15)
        took = time.monotonic() - started
        assert view["last_task_id"] and took < 15
        bad = wait_schedule(a, bad_id, lambda v: v["skipped_count"] >= 1)
        assert "could not be stored" in bad["last_skip_reason"] and "NUL" in bad["last_skip_reason"], bad
        assert bad["run_count"] == 0 and bad["is_active"] and bad["next_run_at"] > bad["last_skipped_at"]
        assert b.get("/scheduled-task/" + bad_id).status_code == 404  # key B sees nothing of it
        a.delete(f"/scheduled-task/{bad_id}")
        b.delete(f"/scheduled-task/{good.json()['id']}")
    assert _failures(pg_stack, "schedules") >= failures_before + 1
    assert "maintenance job run_due failed" not in pg_stack.log("api")

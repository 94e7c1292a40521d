"""What a replay saves: a three-step login (navigate; type a user name and a secret and
click Sign in; done with the account code) run with a model that takes --delay seconds an
answer, then replayed (`POST /task/{id}/replay`: the recorded actions again, no model
call). Black-box: PostgreSQL + Redis, `browserq api` and one worker in their own processes,
the scripted model over real HTTP, the test site on 127.0.0.1. Prints, per round and as
medians, each task's run time (created to finished) and the sum of its steps' own
`duration_ms`, and the replay's share of the original's.

    python bench/bench_replay.py [--rounds 5] [--delay 2]
    python bench/bench_replay.py --smoke   # one round, no model delay; asserts nothing about timing
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.test_tasks_api import login_script
from tests.support.scripted_model import ScriptedModelServer
from tests.support.site import ACCOUNT_CODE, PASSWORD, SiteServer
from tests.support.stack import Stack, wait_for

FINAL = {"finished", "failed", "stopped"}


def _run_seconds(task: dict) -> float:
    started, ended = (datetime.fromisoformat(task[k].replace("Z", "+00:00")) for k in ("created_at", "finished_at"))
    return (ended - started).total_seconds()


def _step_seconds(task: dict) -> float:
    return sum(s["duration_ms"] or 0 for s in task["steps"]) / 1000


def _round(stack: Stack, model: ScriptedModelServer, site: SiteServer, delay: float) -> tuple[dict, dict]:
    key = model.script([{"_delay": delay, "reply": reply} for reply in login_script(site)])
    body = {"task": f"Log in and read the account code [script:{key}]", "secrets": {"password": PASSWORD}}
    with stack.client() as client:
        original = wait_for(client, client.post("/run-task", json=body).json()["id"], FINAL, timeout=300)
        replayed = client.post(f"/task/{original['id']}/replay")
        replayed.raise_for_status()
        replay = wait_for(client, replayed.json()["id"], FINAL, timeout=300)
    for task in (original, replay):
        if task["status"] != "finished" or task["output"] != ACCOUNT_CODE:
            raise SystemExit(f"task {task['id']} ended {task['status']}: {task.get('output')!r}")
    if model.calls(key)["count"] != len(login_script(site)):
        raise SystemExit("the replay called the model")
    return original, replay


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds each model answer of the original takes")
    parser.add_argument("--smoke", action="store_true", help="one round, no model delay; asserts nothing about timing")
    args = parser.parse_args()
    rounds, delay = (1, 0.0) if args.smoke else (args.rounds, args.delay)
    rows: list[tuple[float, float, float, float]] = []
    with ScriptedModelServer() as model, SiteServer() as site:
        stack = Stack(kind="postgres", model_base_url=model.base_url, concurrency=1)
        try:
            stack.start()
            _round(stack, model, site, 0.0)  # warm-up: the worker's browser and model client
            for _ in range(rounds):
                original, replay = _round(stack, model, site, delay)
                row = (_run_seconds(original), _step_seconds(original), _run_seconds(replay), _step_seconds(replay))
                rows.append(row)
                print("original: run {:.2f} s, steps {:.2f} s   replay: run {:.2f} s, steps {:.2f} s".format(*row))
        finally:
            stack.stop()
    med = [statistics.median(r[i] for r in rows) for i in range(4)]
    print(
        f"median of {rounds}, model {delay:g} s an answer: original run {med[0]:.2f} s (steps {med[1]:.2f} s), "
        f"replay run {med[2]:.2f} s (steps {med[3]:.2f} s); replay/original run {med[2] / med[0]:.2f}"
    )


if __name__ == "__main__":
    main()

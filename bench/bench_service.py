"""Service overhead, measured end to end (run by hand, not in CI):

* run-task -> running: a client POSTs a task and polls its status until it is
  `running`; p50/p95 over N tasks submitted one after another (no queueing).
* per-step overhead: with a scripted model that answers at once, the time one
  agent step takes (observe the page + ask + act + record), from the steps
  table: the gap between consecutive steps of a task, and the worker's own
  `duration_ms` (observe + ask + act, without the record).

    python bench/bench_service.py --tasks 50 --kind postgres
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from tests.support.scripted_model import ScriptedModelServer
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

STEPS = 4


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def script(site: SiteServer) -> list[dict]:
    def say(*actions: dict) -> dict:
        return {"evaluation_previous_goal": "ok", "memory": "", "next_goal": "go", "action": list(actions)}

    return [
        say({"navigate": {"url": f"{site.url}/login"}}),
        say({"input": {"index": "@text:Username", "text": "alice"}}),
        say({"scroll": {"down": True}}),
        say({"done": {"text": "ok"}}),
    ]


def run(kind: str, tasks: int, vision: bool) -> None:
    with ScriptedModelServer() as model, SiteServer() as site:
        env = (
            {}
            if vision
            else {"BROWSERQ_MODELS": '{"gpt-4.1": {"provider": "openai", "model": "gpt-4.1", "vision": false}}'}
        )
        stack = Stack(kind=kind, model_base_url=model.base_url, env_extra=env).start()
        try:
            to_running, ids = [], []
            with stack.client() as client:
                for i in range(tasks + 2):
                    key = model.script(script(site))
                    start = time.perf_counter()
                    task_id = client.post("/run-task", json={"task": f"bench [script:{key}]"}).json()["id"]
                    while client.get(f"/task/{task_id}/status").json() == "created":
                        time.sleep(0.002)
                    elapsed = time.perf_counter() - start
                    task = wait_for(client, task_id, {"finished", "failed"}, 60)
                    assert task["status"] == "finished", task
                    if i >= 2:  # the first tasks warm the browser up
                        to_running.append(elapsed * 1000)
                        ids.append(task_id)
            gaps, durations = step_figures(stack, ids)
        finally:
            stack.stop()
    print(f"mode={kind} tasks={tasks} steps/task={STEPS} vision={'on' if vision else 'off'}")
    print(f"run-task -> running   p50 {pct(to_running, 0.5):7.1f} ms   p95 {pct(to_running, 0.95):7.1f} ms")
    print(f"step cycle (gap)      p50 {pct(gaps, 0.5):7.1f} ms   p95 {pct(gaps, 0.95):7.1f} ms   (n={len(gaps)})")
    print(f"step duration_ms      p50 {pct(durations, 0.5):7.1f} ms   p95 {pct(durations, 0.95):7.1f} ms")
    print(f"mean step cycle {statistics.mean(gaps):.1f} ms")


def step_figures(stack: Stack, ids: list[str]) -> tuple[list[float], list[float]]:
    url = (
        stack.db_url.replace("postgresql://", "postgresql+psycopg://")
        if stack.db_url
        else (f"sqlite:///{stack.data_dir / 'browserq.db'}")
    )
    engine = create_engine(url)
    gaps, durations = [], []
    with engine.connect() as conn:
        for task_id in ids:
            rows = conn.execute(
                text("SELECT created_at, duration_ms FROM steps WHERE task_id = :t ORDER BY step"), {"t": task_id}
            ).all()
            stamps = [r[0] if not isinstance(r[0], str) else _parse(r[0]) for r in rows]
            # Steps 2..n: from the end of one step to the end of the next (step 1 includes the context start).
            gaps += [(b - a).total_seconds() * 1000 for a, b in zip(stamps[1:], stamps[2:], strict=False)]
            durations += [float(r[1]) for r in rows[1:]]
    engine.dispose()
    return gaps, durations


def _parse(value: str):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.fromisoformat(value)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--kind", choices=["postgres", "embedded"], default="postgres")
    parser.add_argument("--vision", action="store_true", help="send a screenshot each step (as gpt-4.1 does)")
    parser.add_argument("--smoke", action="store_true", help="two tasks: checks that the bench runs (CI), no figures")
    args = parser.parse_args()
    if args.smoke:
        args.tasks = 2
    run(args.kind, args.tasks, args.vision)

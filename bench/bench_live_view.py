"""What the live view costs a task, measured side by side in one run (by hand, not in CI):

* unwatched vs watched: the same task (a page whose counter repaints every
  200 ms, 12 steps of typing and scrolling with a model that answers at once)
  run alternately with nobody watching and with a viewer connected to its
  live view's WebSocket for the whole run; the task's own duration
  (started_at -> finished_at, from the database) and the frames the viewer got.
* idle cost: what the worker does for an unwatched task, the look at the
  viewer list every 0.5 s, timed on the deployment's own carrier.

    python bench/bench_live_view.py --pairs 10 --kind postgres|embedded
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from shared.live_bus import live_bus
from shared.settings import Settings
from tests.support.scripted_model import ScriptedModelServer
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

COUNTER = """<!doctype html><html><head><title>Counter</title></head><body>
<h1>Counter <span id=count>0</span></h1><input id=note placeholder="Note"><div style="height:3000px"></div>
<script>let n = 0; setInterval(() => { document.getElementById("count").textContent = ++n; }, 200);</script>
</body></html>"""
STEPS = 12


def say(*actions: dict) -> dict:
    return {"evaluation_previous_goal": "ok", "memory": "", "next_goal": "go", "action": list(actions)}


def script(url: str) -> list[dict]:
    work = [
        say({"input": {"index": "@text:Note", "text": f"note {i}"}})
        if i % 3 == 0
        else say({"scroll": {"down": i % 3 == 1}})
        for i in range(STEPS - 2)
    ]
    return [say({"navigate": {"url": url}}), *work, say({"done": {"text": "ok"}})]


class Watcher(threading.Thread):
    """A viewer on the live view's WebSocket, reading frames until told to stop."""

    def __init__(self, ws_url: str) -> None:
        super().__init__(daemon=True)
        self.ws_url, self.frames, self.bytes, self.stop = ws_url, 0, 0, threading.Event()

    def run(self) -> None:
        with connect(self.ws_url, open_timeout=10, max_size=None) as ws:
            while not self.stop.is_set():
                try:
                    message = ws.recv(timeout=0.2)
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return
                if '"type": "frame"' in message[:40]:
                    self.frames += 1
                    self.bytes += len(message)


def durations(stack: Stack, ids: list[str]) -> dict[str, float]:
    url = (
        stack.db_url.replace("postgresql://", "postgresql+psycopg://")
        if stack.db_url
        else (f"sqlite:///{stack.data_dir / 'browserq.db'}")
    )
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for task_id in ids:
            started, finished = conn.execute(
                text("SELECT started_at, finished_at FROM tasks WHERE id = :t"), {"t": task_id}
            ).one()
            started, finished = (datetime.fromisoformat(v) if isinstance(v, str) else v for v in (started, finished))
            out[task_id] = (finished - started).total_seconds()
    engine.dispose()
    return out


def run_one(stack: Stack, model: ScriptedModelServer, url: str, watched: bool) -> tuple[str, Watcher | None]:
    with stack.client() as client:
        key = model.script(script(url))
        task_id = client.post("/run-task", json={"task": f"bench [script:{key}]"}).json()["id"]
        watcher = None
        if watched:
            live_url = client.get(f"/task/{task_id}").json()["live_url"]
            watcher = Watcher(live_url.replace("http://", "ws://").replace("?token=", "/ws?token="))
            watcher.start()
        task = wait_for(client, task_id, {"finished", "failed"}, 300)
        assert task["status"] == "finished", task
        if watcher:
            watcher.stop.set()
            watcher.join(5)
    return task_id, watcher


def idle_cost(stack: Stack, calls: int = 2000) -> float:
    """Microseconds one look at the viewer list takes on this deployment's carrier."""
    settings = Settings(data_dir=stack.data_dir, broker_url=stack.broker_url)

    async def measure() -> float:
        bus = live_bus(settings)
        await bus.watched("warm-up")
        start = time.perf_counter()
        for _ in range(calls):
            await bus.watched("bench-idle")
        elapsed = time.perf_counter() - start
        await bus.close()
        return elapsed / calls * 1e6

    return asyncio.run(measure())


def main(kind: str, pairs: int) -> None:
    with ScriptedModelServer() as model, SiteServer() as site:
        url = site.add_page("counter", COUNTER)
        stack = Stack(kind=kind, model_base_url=model.base_url, concurrency=1).start()
        try:
            run_one(stack, model, url, False)  # warm the browser
            plain, watched, frames, rates, sizes = [], [], [], [], []
            for i in range(pairs):
                for is_watched in (False, True) if i % 2 == 0 else (True, False):  # ABBA: drift cancels
                    task_id, watcher = run_one(stack, model, url, is_watched)
                    seconds = durations(stack, [task_id])[task_id]
                    (watched if is_watched else plain).append(seconds)
                    if watcher:
                        frames.append(watcher.frames)
                        rates.append(watcher.frames / seconds)
                        sizes.append(watcher.bytes / max(watcher.frames, 1) / 1024)
            look_us = idle_cost(stack)
        finally:
            stack.stop()
    p50_plain, p50_watched = statistics.median(plain), statistics.median(watched)
    print(f"mode={kind} pairs={pairs} steps/task={STEPS} (one worker slot, tasks one after another)")
    print(f"unwatched task   median {p50_plain * 1000:7.0f} ms   mean {statistics.mean(plain) * 1000:7.0f} ms")
    print(f"watched task     median {p50_watched * 1000:7.0f} ms   mean {statistics.mean(watched) * 1000:7.0f} ms")
    print(
        f"added when watched: {(p50_watched / p50_plain - 1) * 100:+.1f}% (median), "
        f"{(statistics.mean(watched) / statistics.mean(plain) - 1) * 100:+.1f}% (mean)"
    )
    print(
        f"frames per watched task median {statistics.median(frames):.0f}, "
        f"{statistics.median(rates):.1f} frames/s, {statistics.median(sizes):.0f} KiB/frame (base64 JSON)"
    )
    print(f"idle: one look at the viewer list {look_us:.0f} us, every 0.5 s = {look_us / 5000:.3f}% of a task's time")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--kind", choices=["postgres", "embedded"], default="postgres")
    parser.add_argument("--smoke", action="store_true", help="one pair: checks that the bench runs (CI), no figures")
    args = parser.parse_args()
    main(args.kind, 1 if args.smoke else args.pairs)

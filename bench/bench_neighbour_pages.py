"""How long another key's steps take beside an abusive task in the same Chromium: key A's
page opens 200 popups without a gesture (100 through its window.open, 100 through an
iframe realm's) and keeps its main thread busy in a loop; key B runs a plain three-step
task (open a page, follow a link, done). One worker process with two task slots, so both
tasks share one browser; PostgreSQL + Redis. Each round times B alone, then B beside A,
and prints B's mean step time (the steps' own duration_ms) and wall time for both; the
ratio is what the abusive tenant costs its neighbour. Bounded: A's script ends after
40 s of waiting at most, and the per-task watch ends it sooner.

    python bench/bench_neighbour_pages.py [--rounds 3] [--popups 200]
    python bench/bench_neighbour_pages.py --smoke   # one round, 20 popups; asserts nothing about timing

For the "before" figure, copy this file and bench/neighbour_rounds.py into a checkout of
the old code and run it there with that checkout on PYTHONPATH (the stack starts
`python -m cli` from the current folder). It prints how often the page watch acted and
how often a busy renderer was slowed (worker/browser/busy_renderers.py, where present)."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.neighbour_rounds import FINAL, alternate, medians, neighbour_stack
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

ABUSE = """<title>Abuse</title><p>busy</p>
<script>
for (let i = 0; i < {half}; i++) window.open('/p/bench-popup?a' + i);
const f = document.createElement('iframe');
document.body.append(f);
const raw = f.contentWindow.open;
for (let i = 0; i < {half}; i++) raw.call(window, '/p/bench-popup?b' + i);
setInterval(() => {{ const t = performance.now(); while (performance.now() - t < 200) {{}} }}, 0);
</script>"""
POPUP = """<title>Popup</title><script>
setInterval(() => { const t = performance.now(); while (performance.now() - t < 200) {} }, 0);
</script>"""
PLAIN = '<title>Plain</title><h1>Plain page</h1><a href="/p/bench-next">Next page</a>'
NEXT = "<title>Next</title><h1>Next page</h1><p>Here.</p>"


def _plain_task(stack: Stack, model: ScriptedModelServer, key: str, site: SiteServer) -> tuple[float, float]:
    """Key B's three-step task: (mean step seconds, wall seconds)."""
    script = model.script(
        [
            answer("Open", {"navigate": {"url": f"{site.url}/p/bench-plain"}}),
            answer("Follow", {"click": {"index": "@text:Next page"}}),
            answer("Finish", {"done": {"text": "ok"}}),
        ]
    )
    with stack.client(key) as b:
        started = time.monotonic()
        task = wait_for(b, b.post("/run-task", json={"task": f"y [script:{script}]"}).json()["id"], FINAL, timeout=300)
        wall = time.monotonic() - started
    assert task["status"] == "finished", task
    steps = [s["duration_ms"] / 1000 for s in task["steps"] if s.get("duration_ms") is not None]
    return statistics.mean(steps) if steps else wall, wall


def _round(stack: Stack, model: ScriptedModelServer, key: str, site: SiteServer, abusive: bool) -> tuple[float, float]:
    if not abusive:
        return _plain_task(stack, model, key, site)
    evil = model.script(
        [answer("Open", {"navigate": {"url": f"{site.url}/p/bench-abuse"}})]
        + [answer("Wait", {"wait": {"seconds": 5}}) for _ in range(8)]
        + [answer("Finish", {"done": {"text": "done"}})]
    )
    with stack.client() as a:
        evil_id = a.post("/run-task", json={"task": f"x [script:{evil}]"}).json()["id"]
        time.sleep(2.0)  # the abusive page is loaded and storming before B starts
        took = _plain_task(stack, model, key, site)
        evil_task = wait_for(a, evil_id, FINAL, timeout=300)
        print(f"   the abusive task: {evil_task['status']}: {str(evil_task.get('output'))[:140]}", flush=True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--popups", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="one round, 20 popups; asserts nothing about timing")
    args = parser.parse_args()
    rounds, popups = (1, 20) if args.smoke else (args.rounds, args.popups)
    with ScriptedModelServer() as model, SiteServer() as site:
        site.add_page("bench-abuse", ABUSE.format(half=popups // 2))
        site.add_page("bench-popup", POPUP)
        site.add_page("bench-plain", PLAIN)
        site.add_page("bench-next", NEXT)
        env = {"BROWSERQ_WORKER_PROCESSES": "1"}  # one process, one Chromium, two task slots
        with neighbour_stack(model, concurrency=2, env_extra=env) as (stack, key):
            alone, beside = alternate(
                rounds,
                lambda: _round(stack, model, key, site, abusive=False),
                lambda: _round(stack, model, key, site, abusive=True),
                lambda a, b: (
                    f"alone: step {a[0]:.2f} s, task {a[1]:.2f} s   "
                    f"beside the abusive task: step {b[0]:.2f} s, task {b[1]:.2f} s"
                ),
            )
            log = stack.log("worker0").splitlines()
            watched = [line for line in log if "busy page" in line or "runaway" in line]
            print(f"the page watch acted {len(watched)} times; first: {watched[:2]}")
            slowed = [line for line in log if "kept a processor busy" in line]
            print(f"busy renderers slowed {len(slowed)} times; first: {slowed[:1]}")
    print(
        medians("step", [a[0] for a in alone], [b[0] for b in beside])
        + "; "
        + medians("task", [a[1] for a in alone], [b[1] for b in beside])
    )


if __name__ == "__main__":
    main()

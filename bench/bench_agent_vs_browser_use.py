"""The same scripted five-step run through browserq's agent and through the
`browser-use` library's Agent, side by side, timing each step.

The run, on the local test site: (1) navigate to the login page; (2) type the
user name and a secret password; (3) click the submit button, which loads the
account page; (4) scroll and extract; (5) done with structured output.

Both agents get their answers from the same scripted model server over real
HTTP (OpenAI chat-completions wire format, answering instantly; it and the
site run in a process of their own, sharing neither agent's GIL), so what is
measured is each agent's own work per step: reading the page, building the
prompt, the HTTP round trip, acting in Chromium, and its bookkeeping.

* browserq: worker code called in-process (BrowserPool + Agent), no API or
  database; a warm Chromium, a fresh context per run (as the worker does).
* browser-use: its `Agent` with `ChatOpenAI(base_url=...)` and a
  `BrowserSession` on the same Chromium binary, started before the clock runs;
  judge off, telemetry and cloud sync off. It lives in its own venv (its
  pinned dependencies clash with ours), so it runs in a child process:

    python -m venv /tmp/bu-venv && /tmp/bu-venv/bin/pip install -r requirements/browser-use.txt
    python bench/bench_agent_vs_browser_use.py [--rounds 3] [--vision] [--smoke]

(`scripts/bench-smoke` makes that venv from the lock by itself.)

A step's time is the wall time from the end of the previous step (or the
start of the run) to the end of this one, measured the same way for both.
The clock starts once the agent has a page: browser-use reuses one session
for all its runs; browserq makes a fresh context and tab per task, timed on
its own line ("context + tab").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BU_PYTHON = os.environ.get("BU_PYTHON", "/tmp/bu-venv/bin/python")
CHROMIUM = os.environ.get("BROWSERQ_CHROMIUM_PATH", "/usr/bin/chromium")
STEPS = ["navigate", "input secret", "click submit", "scroll + extract", "done (structured)"]


def brain(goal: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"evaluation_previous_goal": "Success", "memory": goal, "next_goal": goal, "action": actions}


def script(site_url: str, flavour: str) -> list[dict[str, Any]]:
    """The five answers, in each agent's own action names (they happen to agree)."""
    done = {"done": {"data": {"code": "ALPHA-42"}, "success": True}}
    return [
        brain("Open the login page", [{"navigate": {"url": f"{site_url}/login", "new_tab": False}}]),
        brain(
            "Type the credentials",
            [
                {"input": {"index": "@text:Username", "text": "alice", "clear": True}},
                {"input": {"index": "@text:Password", "text": "<secret>password</secret>", "clear": True}},
            ],
        ),
        brain("Sign in", [{"click": {"index": "@text:Sign in"}}]),
        brain(
            "Read the account page",
            [{"scroll": {"down": True, "pages": 1.0}}, {"extract": {"query": "the account code"}}],
        ),
        brain("Report the code", [done]),
    ]


# ---------------------------------------------------------------- browserq


async def run_browserq(site_url: str, model_url: str, key: str, vision: bool, pool: Any) -> dict[str, Any]:
    from shared.netguard import AllowList
    from shared.settings import Settings
    from shared.task_store import Lease
    from worker.agent.control import TaskControl
    from worker.agent.loop import Agent
    from worker.agent.prompt import RunState
    from worker.browser import egress, guard
    from worker.browser.session import BrowserSession
    from worker.llm.openai_provider import OpenAIChatModel

    settings = Settings(chromium_path=CHROMIUM, allow_private_hosts=["127.0.0.1:*"])
    marks: list[float] = []

    class Marks:  # the step sink: when each step ended
        async def add(self, _step: Any) -> None:
            marks.append(time.perf_counter())

    files = Path(tempfile.mkdtemp(prefix="bench-bq-"))
    setup_started = time.perf_counter()
    gate = await egress.Egress().open(egress.Rules(None, AllowList.parse(settings.allow_private_hosts)))
    context = await pool.new_context(viewport={"width": 1280, "height": 960}, proxy=gate.proxy)
    session = BrowserSession(context, files / "downloads")
    session.guard = guard.NetworkGuard(gate, session.events.add)
    await session.guard.install(context)
    await session.start()
    # Made before the clock, like browser-use's ChatOpenAI: the worker makes one per task, and
    # the SDK's client (an httpx pool with its SSL context) costs some 10-300 ms to build.
    chat = OpenAIChatModel(name="gpt-4.1", model="gpt-4.1", vision=vision, api_key="x", base_url=model_url, timeout=30)
    started = time.perf_counter()  # browser-use's page exists before its clock starts too
    agent = Agent(
        run=RunState(
            task=f"Log in and read the code [script:{key}]",
            output_schema=_SCHEMA,
            secret_names=["password"],
            max_steps=10,
        ),
        session=session,
        model=chat,
        # The worker's own control, never started: nobody stops or pauses this run, and the
        # bench keeps working as the loop's use of its control changes (a stand-in here rotted).
        control=TaskControl(Lease(task_id="bench", attempt=1, worker_id="bench"), settings),
        steps=Marks(),
        settings=settings,
        secrets={"password": "s3cret-pa55"},
        files_dir=files,
    )
    cpu_started = time.process_time()
    outcome = await agent.run_to_end()
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    await session.close()
    await gate.close()
    return {
        "steps": _deltas(started, marks),
        "total": total,
        "output": outcome.output,
        "status": outcome.status.value,
        "setup": started - setup_started,
        "cpu": cpu,
    }


_SCHEMA = {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}


def _deltas(started: float, marks: list[float]) -> list[float]:
    return [b - a for a, b in zip([started, *marks], marks, strict=False)]


# ---------------------------------------------------------------- browser-use (child process)

CHILD = r"""
import asyncio, json, os, sys, time
os.environ.setdefault("ANONYMIZED_TELEMETRY", "false")
os.environ.setdefault("BROWSER_USE_CLOUD_SYNC", "false")
from pydantic import BaseModel
from browser_use import Agent, BrowserSession, BrowserProfile
from browser_use.llm import ChatOpenAI

class Account(BaseModel):
    code: str

async def main(model_url, key, vision, rounds):
    profile = BrowserProfile(executable_path=sys.argv[5], headless=True, args=["--no-sandbox"],
                             keep_alive=True, user_data_dir=None)
    session = BrowserSession(browser_profile=profile)
    t = time.perf_counter(); await session.start(); launch = time.perf_counter() - t
    results = []
    for key_i in key.split(","):
        marks = []
        async def on_end(agent):
            marks.append(time.perf_counter())
        agent = Agent(
            task=f"Log in and read the code [script:{key_i}]",
            llm=ChatOpenAI(model="gpt-4.1", base_url=model_url, api_key="x"),
            browser_session=session, sensitive_data={"password": "s3cret-pa55"},
            output_model_schema=Account, use_vision=vision, use_judge=False,
            calculate_cost=False, generate_gif=False,
        )
        started = time.perf_counter()
        history = await agent.run(max_steps=10, on_step_end=on_end)
        total = time.perf_counter() - started
        steps = [b - a for a, b in zip([started, *marks], marks)]
        results.append({"steps": steps, "total": total, "output": history.final_result(),
                        "status": "finished" if history.is_done() else "failed", "launch": launch})
    await session.kill()
    print("RESULT " + json.dumps(results))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])))
"""


def run_browser_use(model_url: str, keys: list[str], vision: bool) -> list[dict[str, Any]]:
    env = {
        **os.environ,
        "ANONYMIZED_TELEMETRY": "false",
        "BROWSER_USE_CLOUD_SYNC": "false",
        "BROWSER_USE_LOGGING_LEVEL": "warning",
        "OPENAI_API_KEY": "x",
    }
    proc = subprocess.run(
        [BU_PYTHON, "-c", CHILD, model_url, ",".join(keys), "1" if vision else "0", str(len(keys)), CHROMIUM],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(
        f"browser-use run failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    )


# ---------------------------------------------------------------- the comparison


async def run_ours(site_url: str, model_url: str, keys: list[str], vision: bool) -> list[dict[str, Any]]:
    from shared.settings import Settings
    from worker.browser.pool import BrowserPool

    pool = BrowserPool(Settings(chromium_path=CHROMIUM))
    t = time.perf_counter()
    await pool.browser()
    launch = time.perf_counter() - t
    try:
        return [{**await run_browserq(site_url, model_url, key, vision, pool), "launch": launch} for key in keys]
    finally:
        await pool.close()


def summarize(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if r["status"] == "finished"]
    steps = [statistics.median(r["steps"][i] for r in ok if len(r["steps"]) > i) for i in range(len(STEPS))]
    return {
        "name": name,
        "steps": steps,
        "total": statistics.median(r["total"] for r in ok),
        "launch": runs[0]["launch"],
        "setup": statistics.median(r.get("setup", 0.0) for r in runs),
        "ok": len(ok),
        "runs": len(runs),
        "output": runs[0]["output"],
        "step_counts": [len(r["steps"]) for r in runs],
        "cpu": [r.get("cpu", 0.0) for r in runs],
    }


def report(ours: dict[str, Any], theirs: dict[str, Any], vision: bool) -> None:
    print(
        f"\nFive-step scripted run, {'with' if vision else 'without'} screenshots for the model; "
        f"median of {ours['runs']} runs (seconds)"
    )
    print(f"{'step':<20}{'browserq':>10}{'browser-use':>13}{'ratio':>8}")
    for i, label in enumerate(STEPS):
        a, b = ours["steps"][i], theirs["steps"][i]
        print(f"{label:<20}{a:>10.3f}{b:>13.3f}{b / a:>7.1f}x")
    print(f"{'total':<20}{ours['total']:>10.3f}{theirs['total']:>13.3f}{theirs['total'] / ours['total']:>7.1f}x")
    print(
        f"{'browser launch':<20}{ours['launch']:>10.3f}{theirs['launch']:>13.3f}"
        "   (once per process; not in the totals)"
    )
    print(
        f"{'context + tab':<20}{ours['setup']:>10.3f}{'(reused)':>13}"
        "   (browserq: a fresh one per task; not in the totals)"
    )
    print(
        f"finished runs: browserq {ours['ok']}/{ours['runs']}, browser-use {theirs['ok']}/{theirs['runs']}; "
        f"steps per run: {ours['step_counts']} vs {theirs['step_counts']}"
    )
    print(
        f"browserq process CPU per run: {statistics.median(r for r in ours['cpu']):.3f} s "
        f"({statistics.median(r for r in ours['cpu']) / len(STEPS) * 1000:.1f} ms per step; "
        "its Python, the egress proxy included)"
    )
    print(f"outputs: browserq {ours['output']!r}; browser-use {theirs['output']!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vision", action="store_true", help="send a screenshot to the model each step (both agents)")
    parser.add_argument("--smoke", action="store_true", help="one round: checks that the bench runs (CI), no figures")
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 1
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.scripted_model import ScriptedModelServer

    with servers() as (site_url, model_url):
        model = ScriptedModelServer(url=model_url)
        ours_keys = [model.script(script(site_url, "browserq")) for _ in range(args.rounds)]
        theirs_keys = [model.script(script(site_url, "browser-use")) for _ in range(args.rounds)]
        ours = summarize("browserq", asyncio.run(run_ours(site_url, model.base_url, ours_keys, args.vision)))
        theirs = summarize("browser-use", run_browser_use(model.base_url, theirs_keys, args.vision))
        report(ours, theirs, args.vision)
        if ours["ok"] != ours["runs"] or theirs["ok"] != theirs["runs"]:
            raise SystemExit("a run did not finish: the bench is broken (see the table above)")


SERVE = r"""
import sys, time
from tests.support.scripted_model import ScriptedModelServer
from tests.support.site import SiteServer
with SiteServer() as site, ScriptedModelServer() as model:
    print(site.url, model.url, flush=True)
    sys.stdin.read()
"""


@contextmanager
def servers() -> Iterator[tuple[str, str]]:
    """The test site and the scripted model in a process of their own, so neither
    agent shares its interpreter (and GIL) with them."""
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
    )
    try:
        assert proc.stdout is not None
        site_url, model_url = proc.stdout.readline().split()
        yield site_url, model_url
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()

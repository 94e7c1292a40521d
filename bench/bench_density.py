"""How many agents one worker host carries: N tasks at once on a real ~750 KB
page, each model answer taking `--delay` seconds as a real model's would
(run by hand, not in CI; `--smoke` is the smallest run).

Black-box, as a user runs it: PostgreSQL + Redis, `browserq api` and
`browserq worker --concurrency N` in their own processes (tests.support.stack).
Each task opens a generated documentation page (module reference text laid out
like Sphinx output: ~750 KB, a few thousand links) and reads it for `--steps`
steps (navigate, scrolls, done). Printed per configuration:

* peak concurrent tasks: most tasks `running` at once (sampled from the database);
* MiB per task: the unique memory (psutil USS) of the worker's whole process
  tree at its peak (main process, pool processes, Playwright drivers, Chromium
  and its renderers, encoders), divided by the peak concurrent tasks;
* CPU-s per step: the tree's user+system time over the run (exited children
  included, as their parents reap them), divided by the steps stored;
* step p50/p95: the gap between a task's consecutive stored steps (steps 2..n),
  model delay included;
* how the CPU splits by kind of process (Chromium, Python, the Playwright driver), Chromium's
  CPU-s per step by process type (renderer, gpu, browser, utility; sampled once a second, so
  a renderer's last second is missed), and the memory by part at the peak with the number of
  renderers then.

Recording on and off are run side by side, and so are kinds of browser
(`--browser-kind stealth|headful|lean|all`, repeatable; default stealth, the
default kind): each kind's worker in its own run (`browserq worker --browser-kind K`).
`--tree DIR` runs the worker and
API from another checkout (e.g. the "before": `git worktree add /tmp/before main`), with that
checkout's code first on PYTHONPATH; several trees are run one after another, in the order given.

    python bench/bench_density.py --concurrency 4 --tasks 8 --steps 10 --delay 2
    python bench/bench_density.py --tree /tmp/before --tree . --recording on
    python bench/bench_density.py -c 8 --tasks 8 --steps 10 --delay 2 --recording on --browser-kind all
"""

from __future__ import annotations

import argparse
import html
import inspect
import itertools
import os
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # type: ignore[import-untyped]
from sqlalchemy import create_engine, text

from shared.browser_kinds import KINDS
from tests.support.scripted_model import ScriptedModelServer
from tests.support.site import SiteServer
from tests.support.stack import Stack, wait_for

PAGE_BYTES = 750_000
MiB = 1024 * 1024


# -- the page ---------------------------------------------------------------------------------


def doc_page(target_bytes: int = PAGE_BYTES) -> str:
    """A reference page the size of the Python `os` module's documentation, made from the
    docstrings of standard modules in Sphinx's markup (so it is real text, deterministic for a
    Python version, and needs no network)."""
    import collections
    import pathlib
    import shutil
    import subprocess
    import typing

    modules: list[ModuleType] = [os, pathlib, shutil, subprocess, collections, typing, inspect, threading]
    toc: list[str] = []
    sections: list[str] = []
    size = 0
    for module in modules * 4:
        section, links = _module_section(module, len(sections))
        sections.append(section)
        toc += links
        size += len(section) + sum(len(link) for link in links)
        if size >= target_bytes:
            break
    body = (
        '<div class="sphinxsidebar"><h3>Contents</h3><ul>' + "".join(toc) + "</ul></div>"
        '<div class="body" role="main"><h1>Miscellaneous operating system interfaces</h1>'
        + "".join(sections)
        + "</div>"
    )
    head = "<meta charset='utf-8'><title>os - reference</title>"
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def _module_section(module: ModuleType, n: int) -> tuple[str, list[str]]:
    name = module.__name__
    parts = [f'<section id="s{n}-{name}"><h2>{name}<a class="headerlink" href="#s{n}-{name}">¶</a></h2>']
    links = [f'<li><a href="#s{n}-{name}">{name}</a></li>']
    for attr in sorted(dir(module)):
        obj = getattr(module, attr, None)
        doc = inspect.getdoc(obj) if callable(obj) else None
        if attr.startswith("_") or not doc:
            continue
        anchor = f"s{n}-{name}.{attr}"
        try:
            signature = html.escape(str(inspect.signature(obj)))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            signature = "(...)"
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in doc.split("\n\n"))
        parts.append(
            f'<dl class="py function"><dt id="{anchor}"><code class="descname">{name}.{attr}</code>'
            f'<span class="sig">{signature}</span><a class="headerlink" href="#{anchor}">¶</a></dt>'
            f"<dd>{paragraphs}</dd></dl>"
        )
        links.append(f'<li><a href="#{anchor}">{attr}</a></li>')
    parts.append("</section>")
    return "".join(parts), links


# -- the worker's process tree --------------------------------------------------------------------


def tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_uss(root: psutil.Process) -> int:
    total = 0
    for proc in tree(root):
        try:
            total += proc.memory_full_info().uss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def _kind(proc: psutil.Process) -> str:
    name = proc.name()
    if "chrom" in name:
        return "chromium"
    if name.startswith("node"):
        return "playwright driver"
    return "python" if name.startswith("python") else name


def _part(proc: psutil.Process) -> str:
    """The kind of process, Chromium's told apart by its --type (renderer, gpu-process,
    utility, zygote; "browser" for the browser process itself)."""
    kind = _kind(proc)
    if kind != "chromium":
        return kind
    kind = next((a.split("=", 1)[1] for a in proc.cmdline() if a.startswith("--type=")), "browser")
    return "chromium " + kind.removesuffix("-process")


def tree_uss_by_part(root: psutil.Process) -> Counter[str]:
    """Unique memory (USS) of the tree by part (_part), and how many renderers ("renderers")."""
    total: Counter[str] = Counter()
    for proc in tree(root):
        try:
            part = _part(proc)
            total[part] += proc.memory_full_info().uss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total["renderers"] += part == "chromium renderer"
    return total


def tree_cpu_by_kind(root: psutil.Process) -> Counter[str]:
    """User+system seconds of the tree by kind of process (chromium, playwright driver,
    python, ffmpeg...), reaped children included in their parent's kind (a child's time
    moves into its parent's children_* fields once waited for; Chromium's renderers are
    reaped by Chromium)."""
    total: Counter[str] = Counter()
    for proc in tree(root):
        try:
            t = proc.cpu_times()
            total[_kind(proc)] += t.user + t.system + t.children_user + t.children_system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def tree_cpu(root: psutil.Process) -> float:
    return sum(tree_cpu_by_kind(root).values())


@dataclass
class Sampler:
    """Samples the tree's memory and the running-task count once a second, in a thread."""

    root: psutil.Process
    count_running: object  # () -> int
    peak_uss: int = 0
    peak_running: int = 0
    uss_at_peak_running: int = 0
    parts_at_peak_running: Counter[str] = field(default_factory=Counter)  # tree_uss_by_part then
    samples: list[tuple[int, int]] = field(default_factory=list)
    # Each process's user+system seconds when last seen, and its part: Chromium's CPU by process
    # type (a renderer's last second before it exits is missed; the coarse split has it all).
    cpu_seen: dict[int, tuple[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def cpu_by_part(self) -> dict[str, float]:
        self._see_cpu()
        total: dict[str, float] = {}
        for part, seconds in self.cpu_seen.values():
            total[part] = total.get(part, 0.0) + seconds
        return total

    def _see_cpu(self) -> None:
        for proc in tree(self.root):
            try:
                t = proc.cpu_times()
                self.cpu_seen[proc.pid] = (_part(proc), t.user + t.system)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            running = self.count_running()  # type: ignore[operator]
            parts = tree_uss_by_part(self.root)
            uss = sum(v for k, v in parts.items() if k != "renderers")
            self._see_cpu()
            self.samples.append((running, uss))
            self.peak_uss = max(self.peak_uss, uss)
            if running > self.peak_running or (running == self.peak_running and uss > self.uss_at_peak_running):
                self.peak_running, self.uss_at_peak_running, self.parts_at_peak_running = running, uss, parts


# -- one configuration ---------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    tasks: int
    finished: int
    steps: int
    peak_running: int
    idle_mib: float
    peak_mib: float
    mib_per_task: float
    cpu_per_step: float
    p50: float
    p95: float
    wall: float
    cpu_split: dict[str, float] = field(default_factory=dict)  # share of the CPU by kind of process
    chromium_split: dict[str, float] = field(default_factory=dict)  # CPU-s per step by Chromium process type
    mib_split: dict[str, float] = field(default_factory=dict)  # MiB by part at the peak
    renderers: int = 0  # Chromium renderers at the peak


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def script(page_url: str, steps: int, delay: float) -> list[dict]:
    def say(goal: str, *actions: dict) -> dict:
        reply = {"evaluation_previous_goal": "ok", "memory": "reading", "next_goal": goal, "action": list(actions)}
        return {"_delay": delay, "reply": reply} if delay else reply

    middle = [say("read on", {"scroll": {"down": True}}) for _ in range(max(0, steps - 2))]
    return [say("open the page", {"navigate": {"url": page_url}}), *middle, say("done", {"done": {"text": "read"}})]


def run_one(
    tree_dir: Path,
    label: str,
    concurrency: int,
    tasks: int,
    steps: int,
    delay: float,
    recording: bool,
    env: dict[str, str],
    browser_kind: str = "stealth",
) -> Result:
    with ScriptedModelServer() as model, SiteServer() as site:
        page_url = site.add_page("os", doc_page())
        stack = Stack(
            kind="postgres",
            model_base_url=model.base_url,
            concurrency=concurrency,
            # The API's default kind and the worker's: every task of the run goes to this kind.
            env_extra={
                "BROWSERQ_RECORD_VIDEO": "true" if recording else "false",
                "BROWSERQ_BROWSER_KIND": browser_kind,
                # That checkout's code, whatever PYTHONPATH the bench itself runs with.
                "PYTHONPATH": str(tree_dir),
                **env,
            },
        )
        here = os.getcwd()
        os.chdir(tree_dir)  # the API and worker run `python -m cli` (before: shared.cli) from this checkout
        try:
            stack.start()
        finally:
            os.chdir(here)
        engine = create_engine(stack.db_url.replace("postgresql://", "postgresql+psycopg://"))  # type: ignore[union-attr]

        def count_running() -> int:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM tasks WHERE status = 'running'")).scalar() or 0)

        try:
            root = psutil.Process(stack.worker_procs[0].pid)
            time.sleep(2)  # the pool processes are up
            idle = tree_uss(root)
            sampler = Sampler(root, count_running)
            parts0 = sampler.cpu_by_part()
            sampler.start()
            split0, t0 = tree_cpu_by_kind(root), time.monotonic()
            with stack.client() as client:
                ids = [
                    client.post(
                        "/run-task", json={"task": f"read [script:{model.script(script(page_url, steps, delay))}]"}
                    ).json()["id"]
                    for _ in range(tasks)
                ]
                final = [
                    wait_for(client, task_id, {"finished", "failed", "stopped"}, 120 + tasks * steps * (delay + 2))
                    for task_id in ids
                ]
            split, wall = tree_cpu_by_kind(root), time.monotonic() - t0
            split.subtract(split0)
            cpu = sum(split.values())
            sampler.stop()
            parts = {part: seconds - parts0.get(part, 0.0) for part, seconds in sampler.cpu_by_part().items()}
            gaps, stored = step_gaps(engine, ids)
        finally:
            engine.dispose()
            stack.stop()
    peak_running = max(sampler.peak_running, 1)
    return Result(
        label=label,
        tasks=tasks,
        finished=sum(t["status"] == "finished" for t in final),
        steps=stored,
        peak_running=sampler.peak_running,
        idle_mib=idle / MiB,
        peak_mib=sampler.peak_uss / MiB,
        mib_per_task=sampler.uss_at_peak_running / MiB / peak_running,
        cpu_per_step=cpu / max(stored, 1),
        p50=pct(gaps, 0.5),
        p95=pct(gaps, 0.95),
        wall=wall,
        cpu_split={kind: seconds / cpu for kind, seconds in split.most_common() if cpu > 0 and seconds > 0},
        chromium_split={
            part.removeprefix("chromium "): seconds / max(stored, 1)
            for part, seconds in sorted(parts.items(), key=lambda item: -item[1])
            if part.startswith("chromium") and seconds > 0
        },
        mib_split={part: uss / MiB for part, uss in sampler.parts_at_peak_running.most_common() if part != "renderers"},
        renderers=sampler.parts_at_peak_running["renderers"],
    )


def step_gaps(engine, ids: list[str]) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
    """Seconds between consecutive stored steps of each task (steps 2..n), and how many steps were stored."""
    gaps: list[float] = []
    stored = 0
    with engine.connect() as conn:
        for task_id in ids:
            stamps = [
                r[0]
                for r in conn.execute(
                    text("SELECT created_at FROM steps WHERE task_id = :t ORDER BY step, attempt"), {"t": task_id}
                )
            ]
            stored += len(stamps)
            gaps += [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
    return gaps, stored


def print_header() -> None:
    print(
        f"{'configuration':34} {'tasks':>5} {'ok':>3} {'steps':>5} {'peak':>4} {'idle MiB':>8} {'peak MiB':>8} "
        f"{'MiB/task':>8} {'CPU-s/step':>10} {'p50 s':>6} {'p95 s':>6} {'wall s':>6}"
    )


def print_result(r: Result) -> None:
    print(
        f"{r.label:34} {r.tasks:5d} {r.finished:3d} {r.steps:5d} {r.peak_running:4d} {r.idle_mib:8.0f} "
        f"{r.peak_mib:8.0f} {r.mib_per_task:8.0f} {r.cpu_per_step:10.3f} {r.p50:6.2f} {r.p95:6.2f} {r.wall:6.1f}",
        flush=True,
    )
    split = ", ".join(f"{kind} {share:.0%}" for kind, share in r.cpu_split.items())
    print(f"{'':34}   CPU by process kind: {split}", flush=True)
    chromium = ", ".join(f"{part} {seconds:.3f}" for part, seconds in r.chromium_split.items())
    print(f"{'':34}   Chromium CPU-s per step by process: {chromium}", flush=True)
    memory = ", ".join(f"{part} {mib:.0f}" for part, mib in r.mib_split.items())
    per = r.mib_split.get("chromium renderer", 0.0) / max(r.renderers, 1)
    print(f"{'':34}   MiB at the peak: {memory} ({r.renderers} renderers, {per:.0f} each)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", "-c", type=int, default=4, help="the worker's --concurrency")
    parser.add_argument("--tasks", type=int, help="tasks submitted at once (default: 2 x concurrency)")
    parser.add_argument("--steps", type=int, default=10, help="steps per task (navigate, scrolls, done)")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds each model answer takes")
    parser.add_argument("--recording", choices=["on", "off", "both"], default="both")
    parser.add_argument("--tree", action="append", type=Path, help="checkout to run the service from (repeatable)")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the worker and API (repeatable)")
    parser.add_argument(
        "--browser-kind",
        action="append",
        choices=[*KINDS, "all"],
        help="the worker's kind of browser (repeatable; all: each kind; default: stealth)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="one task, two steps, no delay, recording on, every kind of browser"
    )
    args = parser.parse_args()
    if args.smoke:
        args.concurrency, args.tasks, args.steps, args.delay, args.recording = 1, 1, 2, 0.0, "on"
        args.browser_kind = ["all"]
    asked = args.browser_kind or ["stealth"]
    kinds = list(KINDS) if "all" in asked else list(dict.fromkeys(asked))
    tasks = args.tasks or 2 * args.concurrency
    env = dict(item.split("=", 1) for item in args.env)
    trees = args.tree or [Path(".")]
    recordings = {"on": [True], "off": [False], "both": [True, False]}[args.recording]
    print(
        f"page {len(doc_page()) / 1000:.0f} kB, concurrency {args.concurrency}, {tasks} tasks x {args.steps} steps, "
        f"model delay {args.delay:g} s, host {os.cpu_count()} cores",
        flush=True,
    )
    print_header()
    results = []
    for recording in recordings:
        for tree_dir in trees:
            for kind in kinds:
                label = f"{tree_dir.resolve().name} {kind} N={args.concurrency} rec={'on' if recording else 'off'}"
                result = run_one(
                    tree_dir.resolve(), label, args.concurrency, tasks, args.steps, args.delay, recording, env, kind
                )
                print_result(result)
                results.append(result)
    if args.smoke:
        assert all(r.finished == r.tasks for r in results), "a task did not finish"
    print(f"mean step p50 {statistics.mean(r.p50 for r in results):.2f} s")


if __name__ == "__main__":
    main()

"""What the neighbour benches share (bench_neighbour_pages.py, bench_schema_neighbour.py):
a running stack with key B's key, warmed up; rounds that time B alone, then B beside
key A's abusive task; and the medians of both with their ratio."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.stack import Stack, wait_for

FINAL = {"finished", "failed", "stopped"}
T = TypeVar("T")


@contextmanager
def neighbour_stack(model: ScriptedModelServer, warm_tasks: int = 1, **options: Any) -> Iterator[tuple[Stack, str]]:
    """A started PostgreSQL + Redis stack (`options`: Stack's) and key B's key, once
    `warm_tasks` one-step tasks at once have run (each task slot's Chromium started)."""
    stack = Stack(kind="postgres", model_base_url=model.base_url, **options)
    try:
        stack.start()
        key = stack.cli("keys", "create", "neighbour").strip().splitlines()[-1]
        with stack.client() as client:
            scripts = [model.script([answer("F", {"done": {"text": "w"}})]) for _ in range(warm_tasks)]
            ids = [client.post("/run-task", json={"task": f"w [script:{s}]"}).json()["id"] for s in scripts]
            for task_id in ids:
                wait_for(client, task_id, FINAL, timeout=600)
        yield stack, key
    finally:
        stack.stop()


def alternate(
    rounds: int, alone: Callable[[], T], beside: Callable[[], T], say: Callable[[T, T], str]
) -> tuple[list[T], list[T]]:
    """`rounds` times: B alone, then B beside A; each round's pair printed as `say` puts it."""
    alone_runs, beside_runs = [], []
    for _ in range(rounds):
        alone_runs.append(alone())
        beside_runs.append(beside())
        print(say(alone_runs[-1], beside_runs[-1]), flush=True)
    return alone_runs, beside_runs


def medians(what: str, alone: list[float], beside: list[float]) -> str:
    a, b = statistics.median(alone), statistics.median(beside)
    return f"median {what}: alone {a:.2f} s, beside {b:.2f} s, ratio {b / a:.2f}"

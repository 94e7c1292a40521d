"""How long another key's one-step task takes beside a task whose output schema
has a catastrophic-backtracking pattern (`^(a+)+$` against "a"*N + "!"), on
one worker process running both (concurrency 2), against PostgreSQL + Redis.
Each round runs the neighbour alone, then beside the ReDoS task, and prints both
times; the ratio is the cost the ReDoS tenant puts on its neighbour.

    python bench/bench_schema_neighbour.py [--rounds 3] [--chars 26]
    python bench/bench_schema_neighbour.py --smoke   # one round, tiny input, asserts nothing about timing

For the "before" figure, run the same file (with bench/neighbour_rounds.py beside it)
from a worktree of the old commit (keep --chars small there: on the old code each extra
character doubles the wait)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.neighbour_rounds import FINAL, alternate, medians, neighbour_stack
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.stack import Stack, wait_for


def _neighbour(stack: Stack, model: ScriptedModelServer, key: str, chars: int | None) -> float:
    """Seconds from submit to final for key B's one-step task; with `chars`, beside key A's ReDoS task."""
    with stack.client() as a, stack.client(key) as b:
        evil_id = None
        if chars is not None:
            evil = model.script(
                [
                    answer("Finish", {"done": {"data": {"code": "a" * chars + "!"}}}),
                    answer("Finish", {"done": {"data": {"code": "a"}}}),
                ]
            )
            schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}}}
            evil_id = a.post("/run-task", json={"task": f"x [script:{evil}]", "structured_output_json": schema}).json()[
                "id"
            ]
            time.sleep(0.5)  # let the ReDoS task reach its done step first
        plain = model.script([answer("Finish", {"done": {"text": "ok"}})])
        started = time.monotonic()
        task_id = b.post("/run-task", json={"task": f"y [script:{plain}]"}).json()["id"]
        wait_for(b, task_id, FINAL, timeout=600)
        took = time.monotonic() - started
        if evil_id is not None:
            wait_for(a, evil_id, FINAL, timeout=600)
        return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chars", type=int, default=26)
    parser.add_argument("--smoke", action="store_true", help="one round, tiny input; asserts nothing about timing")
    args = parser.parse_args()
    rounds, chars = (1, 5) if args.smoke else (args.rounds, args.chars)
    with ScriptedModelServer() as model, neighbour_stack(model, warm_tasks=2, concurrency=2) as (stack, key):
        alone, beside = alternate(
            rounds,
            lambda: _neighbour(stack, model, key, None),
            lambda: _neighbour(stack, model, key, chars),
            lambda a, b: f"alone {a:.2f} s   beside ReDoS ({chars} chars) {b:.2f} s",
        )
    print(medians("task", alone, beside))


if __name__ == "__main__":
    main()

"""`docker stop` on a worker mid-task: SIGTERM (remapped to SIGQUIT by `browserq
worker`) starts Celery's soft shutdown; after worker_soft_shutdown_timeout the
task is cancelled, its pool child hands the lease back on exit, and another
worker finishes it without waiting for the lease to lapse."""

from __future__ import annotations

import signal
import time

from tests.chaos import procs
from tests.chaos.conftest import StackFactory
from tests.chaos.helpers import (
    assert_nothing_pending,
    assert_steps_contiguous,
    poll,
    slow_steps,
    steps_recorded,
    submit,
    wait_attempt,
    wait_final,
)
from tests.support.scripted_model import ScriptedModelServer

SOFT_SHUTDOWN = 10  # shared/celery_app.py worker_soft_shutdown_timeout


def test_sigterm_worker_hands_task_back(make_stack: StackFactory, model: ScriptedModelServer) -> None:
    stack = make_stack("postgres", workers=2, concurrency=1)
    key = model.script(slow_steps(40, delay=0.5))  # ~25 s: outlasts the soft shutdown
    with stack.client() as client:
        task_id = submit(client, key)
        victim = wait_attempt(stack, task_id, 1, timeout=30)
        poll("two steps recorded", lambda: steps_recorded(client, task_id, 2), 30)
        doomed = procs.descendants(stack.worker_procs[victim].pid)
        sent_at = time.monotonic()
        stack.kill_worker(victim, signal.SIGTERM, whole_group=False)
        survivor = wait_attempt(stack, task_id, 2, timeout=SOFT_SHUTDOWN + 15)
        took = time.monotonic() - sent_at
        print(f"\nSIGTERM -> attempt 2 running on worker{survivor}: {took:.1f} s (soft shutdown {SOFT_SHUTDOWN} s)")
        assert survivor != victim
        assert stack.worker_procs[victim].wait(timeout=20) is not None
        task = wait_final(client, task_id, timeout=60)
        assert task["status"] == "finished", task
        assert_steps_contiguous(task)
        assert_nothing_pending(client)
    assert "handed back" in stack.log(f"worker{victim}")
    leftover = procs.wait_gone([p for p in doomed if procs.is_chromium(p)], timeout=15)
    assert not leftover, f"Chromium outlived its stopped worker: {leftover}"

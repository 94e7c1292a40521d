"""Chromium killed under a running task: the attempt notices its browser is
gone, hands the task back at once, the pool launches a new Chromium and a new
attempt finishes the task. No Chromium process is left over, none as a zombie."""

from __future__ import annotations

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


def test_chromium_killed_mid_task(make_stack: StackFactory, model: ScriptedModelServer) -> None:
    stack = make_stack("postgres", workers=1, concurrency=1)
    key = model.script(slow_steps(8, delay=0.5))
    worker_pid = stack.worker_procs[0].pid
    with stack.client() as client:
        task_id = submit(client, key)
        wait_attempt(stack, task_id, 1, timeout=30)
        poll("two steps recorded", lambda: steps_recorded(client, task_id, 2), 30)
        [browser] = procs.browser_mains(worker_pid)
        old_tree = [browser, *browser.children(recursive=True)]
        killed_at = time.monotonic()
        browser.kill()
        wait_attempt(stack, task_id, 2, timeout=15)
        print(f"\nChromium SIGKILL -> attempt 2 running: {time.monotonic() - killed_at:.1f} s")
        task = wait_final(client, task_id, timeout=60)
        assert task["status"] == "finished", task
        assert_steps_contiguous(task)
        assert_nothing_pending(client)
    assert "relaunching" in stack.log("worker0")
    assert not procs.wait_gone(old_tree, timeout=10), "the killed Chromium's processes were not all reaped"
    assert len(procs.browser_mains(worker_pid)) == 1  # the relaunched one, and only it
    assert not procs.lasting_zombies(worker_pid, timeout=10)

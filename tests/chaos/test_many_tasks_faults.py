"""Faults of a worker process that hosts many tasks on one Chromium: a Chromium
crash hands back all its tasks and only them (the other process's tasks run
on), and a SIGTERM hands back every task of the process."""

from __future__ import annotations

import re
import signal

import psutil  # type: ignore[import-untyped]

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
    wait_workers_ready,
)
from tests.support.scripted_model import ScriptedModelServer


def _pool_pid(stack_log: str, task_id: str) -> int:
    """The pool process that claimed attempt 1 (worker ids are host:pid:nonce)."""
    found = re.search(rf"task {task_id}: attempt 1 started on [^:\s]+:(\d+):", stack_log)
    assert found, f"no start of {task_id} in the log"
    return int(found.group(1))


def test_a_chromium_crash_hands_back_all_and_only_its_tasks(
    make_stack: StackFactory, model: ScriptedModelServer
) -> None:
    stack = make_stack("postgres", workers=1, concurrency=4, env={"BROWSERQ_WORKER_PROCESSES": "2"})
    worker_pid = stack.worker_procs[0].pid
    with stack.client() as client:
        ids = [submit(client, model.script(slow_steps(12, delay=0.5))) for _ in range(4)]
        for task_id in ids:
            wait_attempt(stack, task_id, 1, timeout=30)
        poll("two steps of each", lambda: all(steps_recorded(client, t, 2) for t in ids), 60)
        browsers = procs.browser_mains(worker_pid)
        assert len(browsers) == 2, "two processes, one Chromium each"
        victim = browsers[0]
        owner = next(p.pid for p in victim.parents() if p.ppid() == worker_pid)  # its pool process
        on_victim = {t for t in ids if _pool_pid(stack.log("worker0"), t) == owner}
        assert len(on_victim) == 2, "each process hosts two of the four tasks"
        victim.kill()
        for task_id in on_victim:
            wait_attempt(stack, task_id, 2, timeout=20)
        tasks = {t: wait_final(client, t, timeout=90) for t in ids}
        assert_nothing_pending(client)
    for task_id, task in tasks.items():
        assert task["status"] == "finished", task
        assert_steps_contiguous(task)
        handed_back = stack.worker_running(task_id, 2) is not None
        assert handed_back == (task_id in on_victim), f"task {task_id}: handed back {handed_back}"
    assert len(procs.browser_mains(worker_pid)) == 2  # the relaunched one and the other


def test_sigterm_hands_back_every_task_of_the_process(make_stack: StackFactory, model: ScriptedModelServer) -> None:
    stack = make_stack("postgres", workers=1, concurrency=3, env={"BROWSERQ_WORKER_PROCESSES": "1"})
    with stack.client() as client:
        ids = [submit(client, model.script(slow_steps(40, delay=0.5))) for _ in range(3)]
        for task_id in ids:
            assert wait_attempt(stack, task_id, 1, timeout=30) == 0
        poll("two steps of each", lambda: all(steps_recorded(client, t, 2) for t in ids), 60)
        doomed = procs.descendants(stack.worker_procs[0].pid)
        stack.start_worker(1)
        wait_workers_ready(stack)
        stack.kill_worker(0, signal.SIGTERM, whole_group=False)
        for task_id in ids:
            assert wait_attempt(stack, task_id, 2, timeout=30) == 1
        assert stack.worker_procs[0].wait(timeout=30) is not None
        tasks = [wait_final(client, t, timeout=90) for t in ids]
        assert_nothing_pending(client)
    assert [t["status"] for t in tasks] == ["finished"] * 3
    for task in tasks:
        assert_steps_contiguous(task)
    assert stack.log("worker0").count("handed back") >= 3
    leftover = procs.wait_gone([p for p in doomed if procs.is_chromium(p)], timeout=15)
    assert not leftover, f"Chromium outlived its stopped worker: {leftover}"
    assert psutil.pid_exists(stack.worker_procs[1].pid)

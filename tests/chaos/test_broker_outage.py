"""The broker goes away with tasks queued and comes back empty (a Redis without
persistence, restarted): run-task still stores tasks and answers fast while it
is down, reads keep working, and once it is back every task is sent again by
the maintenance loop and finishes. Runs against a private redis-server, never
the machine's."""

from __future__ import annotations

import socket
import threading
import time

from tests.chaos.conftest import StackFactory
from tests.chaos.helpers import (
    answer,
    assert_nothing_pending,
    assert_steps_contiguous,
    submit,
    wait_final,
    wait_workers_ready,
)
from tests.support.scripted_model import ScriptedModelServer

MAX_POST_SECONDS = 3.0


def test_broker_down_and_back(make_stack: StackFactory, model: ScriptedModelServer) -> None:
    # No worker yet, so the first tasks sit in the queue when the broker dies.
    # A message enqueued but never claimed is sent again after 3 s here (600 s by default).
    stack = make_stack("postgres", workers=0, concurrency=2, env={"BROWSERQ_REQUEUE_AFTER_SECONDS": "3"})
    broker = stack.broker  # type: ignore[attr-defined]
    key = model.script([{"_repeat": 6, "reply": answer("finish", {"done": {"text": "ok"}})}])
    with stack.client() as client:
        queued = [submit(client, key) for _ in range(3)]
        broker.stop()
        latencies, stored = [], []
        for _ in range(3):
            started = time.monotonic()
            stored.append(submit(client, key))
            latencies.append(time.monotonic() - started)
        print(f"\nPOST /run-task with the broker down: {', '.join(f'{s:.2f}' for s in latencies)} s")
        assert max(latencies) < MAX_POST_SECONDS
        assert client.get(f"/task/{stored[0]}").json()["status"] == "created"
        assert client.get("/tasks").status_code == 200
        broker.start()
        back_at = time.monotonic()
        stack.start_worker()
        wait_workers_ready(stack)
        for task_id in queued + stored:
            task = wait_final(client, task_id, timeout=120)
            print(f"{task_id[:8]} done {time.monotonic() - back_at:.1f} s after the broker came back")
            assert task["status"] == "finished", task
            assert_steps_contiguous(task)
        assert_nothing_pending(client)


class _HungBroker:
    """A port that accepts connections and never answers: a hung Redis, or a
    half-open network path. Worse than a refused connection, which fails at once."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.url = f"redis://127.0.0.1:{self._sock.getsockname()[1]}/0"
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self._held.append(self._sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()


def test_hung_broker_does_not_hang_run_task(make_stack: StackFactory, model: ScriptedModelServer) -> None:
    hung = _HungBroker()
    try:
        stack = make_stack("postgres", workers=0, env={"BROWSERQ_BROKER_URL": hung.url})
        with stack.client() as client:
            latencies = []
            for _ in range(2):
                started = time.monotonic()
                task_id = submit(client, model.script([]))
                latencies.append(time.monotonic() - started)
            print(f"\nPOST /run-task with a hung broker: {', '.join(f'{s:.2f}' for s in latencies)} s")
            assert max(latencies) < MAX_POST_SECONDS
            assert client.get(f"/task/{task_id}").json()["status"] == "created"
    finally:
        hung.close()

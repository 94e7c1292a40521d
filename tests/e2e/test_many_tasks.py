"""Many tasks in one worker process, on one Chromium (a fresh context each): a
task never sees another's cookies or storage, and a stop or a failure of one
leaves the others running to their own end."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.chaos import procs
from tests.chaos.helpers import assert_steps_contiguous, slow_steps, steps_recorded, submit, wait_final
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack, poll

SET_PAGE = """<!doctype html><title>set</title><body><script>
document.cookie = "tok=alpha-cookie-7731; path=/";
localStorage.setItem("tok", "alpha-storage-7731");
sessionStorage.setItem("tok", "alpha-session-7731");
document.body.append("token stored");
</script></body>"""
SHOW_PAGE = """<!doctype html><title>show</title><body><script>
document.body.append("cookie=[" + document.cookie + "] storage=[" + localStorage.getItem("tok") +
                     "] session=[" + sessionStorage.getItem("tok") + "]");
</script></body>"""


@pytest.fixture(scope="module")
def one_process(model: ScriptedModelServer) -> Iterator[Stack]:
    """One worker process hosting four tasks at once."""
    stack = Stack(
        kind="postgres",
        model_base_url=model.base_url,
        concurrency=4,
        env_extra={"BROWSERQ_WORKER_PROCESSES": "1", "BROWSERQ_RECORD_VIDEO": "false"},
    ).start()
    yield stack
    stack.stop()


def _running_together(client, ids: list[str]) -> None:  # type: ignore[no-untyped-def]
    poll("the tasks running at once", lambda: all(client.get(f"/task/{t}/status").json() == "running" for t in ids), 60)


def _prompts(model: ScriptedModelServer, key: str) -> list[str]:
    return [json.dumps(r["messages"]) for r in model.calls(key)["requests"]]


def test_tasks_in_one_process_share_one_chromium_and_none_of_their_state(
    one_process: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    set_url, show_url = site.add_page("many-set", SET_PAGE), site.add_page("many-show", SHOW_PAGE)
    hold = {"wait": {"seconds": 0.05}}
    writer = model.script(
        [
            {"_delay": 1.0, "reply": answer("store", {"navigate": {"url": set_url}})},
            {"_delay": 1.0, "reply": answer("look", {"navigate": {"url": show_url}})},
            {"_delay": 3.0, "reply": answer("hold", hold)},
            answer("end", {"done": {"text": "wrote"}}),
        ]
    )
    readers = [
        model.script(
            [
                {"_delay": 1.0, "reply": answer("wait", hold)},
                {"_delay": 2.0, "reply": answer("look", {"navigate": {"url": show_url}})},
                {"_delay": 1.0, "reply": answer("hold", hold)},
                answer("end", {"done": {"text": "read"}}),
            ]
        )
        for _ in range(2)
    ]
    with one_process.client() as client:
        ids = [submit(client, key) for key in (writer, *readers)]
        _running_together(client, ids)
        poll("a step of each", lambda: all(steps_recorded(client, t, 1) for t in ids), 30)
        [worker] = one_process.worker_procs
        assert len(procs.browser_mains(worker.pid)) == 1, "the tasks of one process do not share its Chromium"
        tasks = [wait_final(client, t, 90) for t in ids]
    assert [t["status"] for t in tasks] == ["finished"] * 3, [t["output"] for t in tasks]
    # The writer sees its own cookie and storage after it navigated...
    assert "cookie=[tok=alpha-cookie-7731] storage=[alpha-storage-7731]" in _prompts(model, writer)[2]
    # ...the others, on the same origin in the same Chromium at the same time, none of it.
    for key in readers:
        seen = _prompts(model, key)[2]
        assert "cookie=[] storage=[null] session=[null]" in seen, seen
        assert "7731" not in " ".join(_prompts(model, key))


def test_a_stop_or_a_failure_of_one_task_leaves_the_others_running(
    one_process: Stack, model: ScriptedModelServer
) -> None:
    long_key = model.script(slow_steps(10, delay=0.5))
    stopped_key = model.script(slow_steps(40, delay=0.5))
    failing_key = model.script(
        [
            {"_delay": 1.0, "reply": answer("one", {"wait": {"seconds": 0.05}})},
            {"_repeat": 4, "reply": {"_status": 503, "_message": "overloaded"}},
        ]
    )
    with one_process.client() as client:
        long_id, stopped_id, failing_id = (submit(client, k) for k in (long_key, stopped_key, failing_key))
        _running_together(client, [long_id, stopped_id, failing_id])
        poll("a step of the task to stop", lambda: steps_recorded(client, stopped_id, 1), 30)
        assert client.put("/stop-task", params={"task_id": stopped_id}).status_code == 200
        failed = wait_final(client, failing_id, 60)
        stopped = wait_final(client, stopped_id, 30)
        assert client.get(f"/task/{long_id}/status").json() == "running"  # the others' ends did not end it
        long_task = wait_final(client, long_id, 90)
    assert stopped["status"] == "stopped"
    assert failed["status"] == "failed" and "HTTP 503: overloaded" in failed["output"]
    assert long_task["status"] == "finished" and long_task["output"] == "all steps done"
    assert_steps_contiguous(long_task)
    assert len(long_task["steps"]) == 11


def test_a_host_short_of_memory_takes_no_task_and_says_so(model: ScriptedModelServer) -> None:
    """Admission: with more free memory asked for than any host has, the worker claims
    nothing (the task stays queued, its message goes back) and /metrics shows why."""
    stack = Stack(
        kind="postgres",
        model_base_url=model.base_url,
        concurrency=2,
        env_extra={
            "BROWSERQ_ADMISSION_MIN_FREE_MEMORY_MB": str(10**9),
            "BROWSERQ_ADMISSION_WAIT_SECONDS": "1",
        },
    ).start()
    try:
        with stack.client() as client:
            task_id = submit(client, model.script([answer("end", {"done": {"text": "ran"}})]))

            def held() -> str | None:
                text = httpx.get(f"{stack.url}/metrics", timeout=10).text
                return text if 'browserq_worker_admission_held_total{reason="memory"}' in text else None

            poll("the task put back", lambda: "short of memory; putting it back" in stack.log("worker0"), 60)
            metrics = poll("/metrics saying so", held, 30)
            assert "browserq_worker_admitting 0.0" in metrics, metrics
            assert client.get(f"/task/{task_id}/status").json() == "created"
            assert f"task {task_id}: attempt 1 started" not in stack.log("worker0")
    finally:
        stack.stop()

"""browser-use-sdk 2.x driving a browserq, as its README has it: run by
tests/e2e/test_v2_sdk2.py in the 2.x venv (tests/support/sdk2_venv.py), since the
test set's own venv has 3.x. Reads the server, key and tasks as JSON on stdin and
prints what the SDK parsed as JSON on stdout; the test asserts on that."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from browser_use_sdk import BrowserUse
from browser_use_sdk.core.api_error import ApiError
from pydantic import BaseModel


class Code(BaseModel):
    code: str


def complete(created: Any, timeout: float = 90) -> Any:
    """The SDK's own wait (`watch`, which `complete` is built on), bounded so a hang fails."""
    deadline = time.monotonic() + timeout
    for state in created.watch(interval=0.2):
        if state.status in {"finished", "stopped", "paused"}:
            return state
        if time.monotonic() > deadline:
            raise SystemExit(f"the task did not end in {timeout}s: {state}")
    raise SystemExit("watch ended without a final state")


def until(what: str, check: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> None:
    args = json.load(sys.stdin)
    client = BrowserUse(api_key=args["key"], base_url=args["base_url"], timeout=30)
    out: dict[str, Any] = {}

    created = client.tasks.create_task(
        task=args["login_task"],
        llm="gpt-4.1",
        max_steps=10,
        secrets={"password": args["password"]},
        metadata={"ref": "sdk2"},
    )
    task = created.complete(interval=0.2)
    out["login"] = {
        "session_is_id": created.session_id == created.id,
        "status": task.status,
        "is_success": task.is_success,
        "output": task.output,
        "steps": [s.number for s in task.steps],
        "first_action": json.loads(task.steps[0].actions[0]),
        "metadata": task.metadata,
        "llm": task.llm,
        "status_route": client.tasks.get_task_status(created.id).status,
    }

    created = client.tasks.create_task(task=args["schema_task"], schema=Code)
    task = complete(created)
    out["schema"] = {
        "parsed": task.parsed_output.code,
        "in_finished": created.id in [t.id for t in client.tasks.list_tasks(page_size=100, filter_by="finished").items],
        "in_stopped": created.id in [t.id for t in client.tasks.list_tasks(page_size=100, filter_by="stopped").items],
    }

    task = complete(client.tasks.create_task(task=args["loop_task"], max_steps=2))
    out["failed"] = {"status": task.status, "is_success": task.is_success, "output": task.output}

    created = client.tasks.create_task(task=args["ask_task"])
    asked = until("the question", lambda: (t := client.tasks.get_task(created.id)).model_extra.get("paused") and t)
    out["paused"] = {
        "status": asked.status,
        "question": asked.model_extra.get("humanQuestion"),
        "status_route": client.tasks.get_task_status(created.id).status,
        "listed": {t.id: t.status for t in client.tasks.list_tasks(page_size=100).items}.get(created.id),
        "stopped": client.tasks.update_task(created.id, action="stop").status,
    }

    errors: dict[str, Any] = {}
    for name, call in {
        "missing": lambda: client.tasks.get_task("no-such-task"),
        "max_steps": lambda: client.tasks.create_task(task="x", max_steps=500),
        "session": lambda: client.tasks.create_task(task="x", session_id="abc"),
    }.items():
        try:
            call()
            errors[name] = None
        except ApiError as exc:
            errors[name] = {"status": exc.status_code, "body": exc.body}
    out["errors"] = errors
    print(json.dumps(out))


if __name__ == "__main__":
    main()

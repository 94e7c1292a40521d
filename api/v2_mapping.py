"""Between the v2 wire shapes and browserq's one task model: a v2 create
request becomes the v1 RunTaskRequest (so it is checked, stored and run by
the same code), and a task row becomes the v2 views."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, status
from pydantic import ValidationError

from api.errors import error_item, invalid
from api.file_urls import screenshot_url
from api.schemas import RunTaskRequest
from api.v2_schemas import (
    CostV2,
    CreateTaskRequestV2,
    FileViewV2,
    TaskItemViewV2,
    TaskStatusViewV2,
    TaskStepViewV2,
    TaskViewV2,
)
from shared import billing
from shared.models import Step, Task, TaskStatus
from shared.settings import Settings

# v2 has no `failed`: a task that ended without success is `finished` with isSuccess false
# (the official clients wait for finished, stopped or paused, and would wait forever otherwise).
V2_STATUS = {
    TaskStatus.created: "created",
    TaskStatus.running: "started",
    TaskStatus.paused: "paused",
    TaskStatus.finished: "finished",
    TaskStatus.failed: "finished",
    TaskStatus.stopped: "stopped",
}
V1_STATUSES = {
    "created": [TaskStatus.created],
    "started": [TaskStatus.running],
    "paused": [TaskStatus.paused],
    "finished": [TaskStatus.finished, TaskStatus.failed],
    "stopped": [TaskStatus.stopped],
}
# RunTaskRequest field -> the v2 field it came from, to name the right field in a 422.
_V2_FIELD = {
    "task": "task",
    "llm_model": "llm",
    "max_agent_steps": "maxSteps",
    "structured_output_json": "structuredOutput",
    "metadata": "metadata",
    "secrets": "secrets",
    "allowed_domains": "allowedDomains",
    "highlight_elements": "highlightElements",
    "browser_kind": "browserKind",
}


def run_request(body: CreateTaskRequestV2) -> RunTaskRequest:
    """The v1 request for a v2 one; 422 naming the v2 field when a value is not accepted."""
    if body.session_id:
        raise invalid(["body", "sessionId"], "browserq runs each task in its own browser session: leave sessionId out")
    if body.op_vault_id:
        raise invalid(["body", "opVaultId"], "1Password vaults are not supported: pass the values in `secrets` instead")
    fields: dict[str, Any] = {"task": _task_text(body)}
    optional = {
        "llm_model": body.llm,
        "max_agent_steps": body.max_steps,
        "structured_output_json": body.structured_output,
        "metadata": _without_nulls(body.metadata),
        "secrets": _without_nulls(body.secrets),
        "allowed_domains": body.allowed_domains,
        "highlight_elements": body.highlight_elements,
        "browser_kind": body.browser_kind,
    }
    fields.update({name: value for name, value in optional.items() if value is not None})
    try:
        return RunTaskRequest.model_validate(fields)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                error_item(
                    ["body", _V2_FIELD.get(str(e["loc"][0]), str(e["loc"][0])), *e["loc"][1:]], e["msg"], e["type"]
                )
                for e in exc.errors()
            ],
        ) from None


def _task_text(body: CreateTaskRequestV2) -> str:
    """startUrl and systemPromptExtension have no column of their own: they become part of the task."""
    text = body.task
    if body.start_url:
        parts = urlsplit(body.start_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise invalid(["body", "startUrl"], "startUrl must be an http(s) URL, e.g. https://example.com")
        text += f"\n\nStart at this URL: {body.start_url}"
    if body.system_prompt_extension:
        text += f"\n\nAdditional instructions: {body.system_prompt_extension}"
    return text


def _without_nulls(values: dict[str, str | None] | None) -> dict[str, str] | None:
    return None if values is None else {k: v for k, v in values.items() if v is not None}


def is_success(task: Task, last_step: Step | None) -> bool | None:
    """What the agent said of itself when it finished (`done`'s `success`)."""
    if task.status == TaskStatus.failed:
        return False
    if task.status != TaskStatus.finished:
        return None
    for action in reversed((last_step.actions or []) if last_step else []):
        if "done" in action:
            return bool((action["done"] or {}).get("success", True))
    return True


def cost(task: Task, settings: Settings) -> str | None:
    """v2's own `cost`: USD as text, from the task's tokens at its model's price; null without a price."""
    usd = billing.cost_of(task, settings).usd
    if usd is None:
        return None
    return format(Decimal(str(usd)).normalize(), "f") if usd else "0"


def cost_detail(task: Task, settings: Settings) -> CostV2:
    """(ext) `costDetail`: v2's `cost` is a string, so the tokens go beside it."""
    spent = billing.cost_of(task, settings)
    return CostV2(input_tokens=spent.input_tokens, output_tokens=spent.output_tokens, usd=spent.usd)


def _common(task: Task, last_step: Step | None, settings: Settings) -> dict[str, Any]:
    return {
        "id": task.id,
        "session_id": task.id,  # one browser session per task
        "llm": task.llm_model,
        "task": task.task,
        "status": V2_STATUS[task.status],
        "created_at": task.created_at,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "metadata": task.task_metadata,
        "output": task.output,
        "is_success": is_success(task, last_step),
        "cost": cost(task, settings),
        "cost_detail": cost_detail(task, settings),
        "human_question": task.human_question if task.status == TaskStatus.paused else None,
    }


def task_view(task: Task, steps: list[Step], settings: Settings) -> TaskViewV2:
    return TaskViewV2(
        **_common(task, steps[-1] if steps else None, settings),
        steps=[
            TaskStepViewV2(
                number=s.step,
                memory=s.memory,
                evaluation_previous_goal=s.shown_evaluation,
                next_goal=s.next_goal,
                url=s.url,
                screenshot_url=screenshot_url(task, s.screenshot_key),
                actions=[json.dumps(a) for a in s.actions or []],
            )
            for s in steps
        ],
        output_files=[FileViewV2(id=name, file_name=name) for name in task.output_files or []],
    )


def item_view(task: Task, last_step: Step | None, settings: Settings) -> TaskItemViewV2:
    return TaskItemViewV2(**_common(task, last_step, settings))


def status_view(task: Task, last_step: Step | None, settings: Settings) -> TaskStatusViewV2:
    common = _common(task, last_step, settings)
    fields = ("id", "status", "output", "finished_at", "is_success", "cost", "cost_detail", "human_question")
    return TaskStatusViewV2(**{k: common[k] for k in fields})

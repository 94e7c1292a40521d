"""Between the v2 wire shapes and browserq's one task model: a v2 create
request becomes the v1 RunTaskRequest (so it is checked, stored and run by
the same code), and a task row becomes the v2 views."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, status
from pydantic import ValidationError

from api.errors import error_item, invalid
from api.schemas import RunTaskRequest
from api.task_read import TaskRead, read_task, usd_text
from api.v2_schemas import (
    CostV2,
    CreateTaskRequestV2,
    FileViewV2,
    TaskItemViewV2,
    TaskStatusViewV2,
    TaskStepViewV2,
    TaskViewV2,
)
from shared.model_routes import model_unavailable_reason
from shared.models import Step, Task, TaskStatus
from shared.settings import Settings, get_settings

# The statuses both official clients parse: 3.x validates against created, started,
# finished, failed, stopped; 2.x's helpers end their wait on finished, stopped or paused.
# - paused is `started` (with the extension `paused: true`): 3.x has no paused and would
#   refuse the whole task (or list); a paused task has not ended, and a task waiting for a
#   person goes on once answered, so a client's wait should go on too.
# - failed is `finished` with isSuccess false: 2.x's helpers would wait forever on `failed`.
#   `filterBy=failed` (3.x) still finds exactly the failed ones.
V2_STATUS = {
    TaskStatus.created: "created",
    TaskStatus.running: "started",
    TaskStatus.paused: "started",
    TaskStatus.finished: "finished",
    TaskStatus.failed: "finished",
    TaskStatus.stopped: "stopped",
}
V1_STATUSES = {
    "created": [TaskStatus.created],
    "started": [TaskStatus.running, TaskStatus.paused],
    "paused": [TaskStatus.paused],  # 2.x's filter
    "finished": [TaskStatus.finished, TaskStatus.failed],
    "failed": [TaskStatus.failed],  # 3.x's filter
    "stopped": [TaskStatus.stopped],
}
# Output files are named, not numbered, in browserq: v2's file id is derived from the task
# and the name, so it is the same on every read and needs no column.
_OUTPUT_FILE_IDS = uuid.UUID("6f1d7c3e-29a4-5b0e-9c61-3f2b8e5d0a17")
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
    "judge": "judge",
    "judge_ground_truth": "judgeGroundTruth",
    "judge_llm": "judgeLlm",
    "max_cost_usd": "maxCostUsd",
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
        "judge": body.judge,
        "judge_ground_truth": body.judge_ground_truth,
        "judge_llm": body.judge_llm,
        "max_cost_usd": body.max_cost_usd,
        "browser_kind": body.browser_kind,
    }
    fields.update({name: value for name, value in optional.items() if value is not None})
    try:
        request = RunTaskRequest.model_validate(fields)
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
    reason = model_unavailable_reason(request.llm_model, get_settings())
    if reason:  # checked here too, so the 422 names v2's field
        raise invalid(["body", "llm"], reason)
    return request


def output_file_id(task_id: str, file_name: str) -> str:
    return str(uuid.uuid5(_OUTPUT_FILE_IDS, f"{task_id}/{file_name}"))


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


def _common(read: TaskRead) -> dict[str, Any]:
    task, spent = read.task, read.cost
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
        "is_success": read.is_success,
        # v2's own `cost` is USD as text (null without a price); (ext) `costDetail` has the tokens beside it
        "cost": None if spent.usd is None else usd_text(spent.usd),
        "cost_detail": CostV2(input_tokens=spent.input_tokens, output_tokens=spent.output_tokens, usd=spent.usd),
        "human_question": read.human_question,
        "judge_verdict": read.judge_verdict,
        "judgement": None if read.judgement is None else json.dumps(read.judgement),
        "paused": task.status == TaskStatus.paused,
    }


def task_view(task: Task, steps: list[Step], settings: Settings) -> TaskViewV2:
    read = read_task(task, steps, settings)
    return TaskViewV2(
        **_common(read),
        steps=[
            TaskStepViewV2(
                number=s.step,
                memory=s.memory,
                evaluation_previous_goal=s.evaluation_previous_goal,
                next_goal=s.next_goal,
                url=s.url,
                screenshot_url=s.screenshot_url,
                actions=[json.dumps(a) for a in s.actions or []],
                duration=None if s.duration_ms is None else s.duration_ms / 1000,
            )
            for s in read.step_reads
        ],
        output_files=[FileViewV2(id=output_file_id(task.id, n), file_name=n) for n in read.output_files],
    )


def item_view(task: Task, last_step: Step | None, settings: Settings) -> TaskItemViewV2:
    return TaskItemViewV2(**_common(read_task(task, [last_step] if last_step else [], settings)))


def status_view(task: Task, last_step: Step | None, settings: Settings) -> TaskStatusViewV2:
    common = _common(read_task(task, [last_step] if last_step else [], settings))
    fields = ("id", "status", "output", "finished_at", "is_success", "cost", "cost_detail", "human_question", "paused")
    return TaskStatusViewV2(**{k: common[k] for k in fields})

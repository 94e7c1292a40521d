"""The wire shapes of the Browser Use Cloud v2 task API, as the official
clients (the `browser-use-sdk` 2.0 Python SDK, the n8n node) send and read
them: camelCase keys, `started` for a running task, steps with a `number`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.schemas import MAX_TASK_CHARS, Timestamp


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class CreateTaskRequestV2(_Wire):
    """Fields browserq has no counterpart for (flashMode, thinking, vision,
    judge*, skillIds) are accepted and ignored; the ones whose loss would
    change what the task does (sessionId, opVaultId) are refused."""

    task: str = Field(min_length=1, max_length=MAX_TASK_CHARS)
    llm: str | None = None
    start_url: str | None = None
    max_steps: int | None = None
    structured_output: str | None = None
    session_id: str | None = None
    metadata: dict[str, str | None] | None = None
    secrets: dict[str, str | None] | None = None
    allowed_domains: list[str] | None = None
    op_vault_id: str | None = None
    highlight_elements: bool | None = None
    flash_mode: bool | None = None
    thinking: bool | None = None
    vision: bool | str | None = None
    system_prompt_extension: str | None = Field(default=None, max_length=MAX_TASK_CHARS)
    judge: bool | None = None
    judge_ground_truth: str | None = None
    judge_llm: str | None = None
    skill_ids: list[str] | None = None
    # Extension: run-task's browser_kind (stealth, headful, lean); none: the operator's default.
    browser_kind: str | None = None


class UpdateTaskRequestV2(_Wire):
    action: str = Field(description="stop, stop_task_and_session, pause or resume")


class TaskCreatedResponseV2(_Wire):
    id: str
    session_id: str


class FileViewV2(_Wire):
    id: str
    file_name: str


class TaskStepViewV2(_Wire):
    number: int
    memory: str
    evaluation_previous_goal: str
    next_goal: str
    url: str
    screenshot_url: str | None = None
    actions: list[str]  # each action as JSON text


class CostV2(_Wire):
    """(ext) The task's model tokens so far and their USD (null when its model has no price)."""

    input_tokens: int
    output_tokens: int
    usd: float | None


class _TaskCommonV2(_Wire):
    id: str
    session_id: str
    llm: str
    task: str
    status: str  # created | started | paused | finished | stopped
    created_at: Timestamp
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    metadata: dict[str, Any] | None = None
    output: str | None = None
    browser_use_version: str | None = None
    is_success: bool | None = None
    judgement: str | None = None
    judge_verdict: bool | None = None
    cost: str | None = None
    cost_detail: CostV2 | None = None  # (ext)
    human_question: str | None = None  # (ext) ask_human's question while the task waits (paused)
    suggestions: list[dict[str, Any]] | None = None


class TaskViewV2(_TaskCommonV2):
    steps: list[TaskStepViewV2]
    output_files: list[FileViewV2]


class TaskItemViewV2(_TaskCommonV2):
    pass


class TaskListResponseV2(_Wire):
    items: list[TaskItemViewV2]
    total_items: int
    page_number: int
    page_size: int


class TaskStatusViewV2(_Wire):
    id: str
    status: str
    output: str | None = None
    finished_at: Timestamp | None = None
    is_success: bool | None = None
    cost: str | None = None
    cost_detail: CostV2 | None = None  # (ext)
    human_question: str | None = None  # (ext)

"""The wire shapes of the Browser Use Cloud v2 task API, as the official
clients (`browser-use-sdk` 2.x and 3.x's default client, the n8n node) send and
read them: camelCase keys, `started` for a running task, steps with a `number`,
UUIDs for ids (3.x validates them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.schemas import MAX_TASK_CHARS, Timestamp


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class CreateTaskRequestV2(_Wire):
    """Fields browserq has no counterpart for (flashMode, thinking, vision,
    skillIds) are accepted and ignored; the ones whose loss would change what
    the task does (sessionId, opVaultId) are refused. The judge fields run the
    judge; maxCostUsd is browserq's (ext), v4's per-run cost cap."""

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
    max_cost_usd: float | None = None  # (ext) as v4's maxCostUsd
    # Extension: run-task's browser_kind (stealth, headful, lean); none: the operator's default.
    browser_kind: str | None = None


class UpdateTaskRequestV2(_Wire):
    action: str = Field(description="stop, stop_task_and_session, pause or resume")


class TaskCreatedResponseV2(_Wire):
    id: str
    session_id: str


class FileViewV2(_Wire):
    id: str  # a UUID, stable for the task and the file's name (api/v2_mapping.output_file_id)
    file_name: str


class OutputFileResponseV2(FileViewV2):
    """`files.task_output`: the file and a signed URL to download it."""

    download_url: str


class TaskStepViewV2(_Wire):
    number: int
    memory: str
    evaluation_previous_goal: str
    next_goal: str
    url: str
    screenshot_url: str | None = None
    actions: list[str]  # each action as JSON text
    duration: float | None = None  # seconds the step took (its model call and actions)


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
    status: str  # created | started | finished | stopped (api/v2_mapping.V2_STATUS says why)
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
    paused: bool = False  # (ext) the task is paused (v2's status says `started`: see V2_STATUS)
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
    paused: bool = False  # (ext)


class PlanInfoV2(_Wire):
    plan_name: str
    subscription_status: str | None = None
    subscription_id: str | None = None
    subscription_current_period_end: str | None = None
    subscription_canceled_at: str | None = None


class AccountViewV2(_Wire):
    name: str | None
    total_credits_balance_usd: float
    monthly_credits_balance_usd: float
    additional_credits_balance_usd: float
    rate_limit: int  # Cloud's legacy name for concurrent_session_limit
    concurrent_session_limit: int  # the key's cap on tasks at once; 0: no cap
    active_session_count: int  # the key's tasks running or paused now
    plan_info: PlanInfoV2
    is_free_tier: bool = False
    project_id: str  # the key's id
    api_key_id: str | None
    tracing_disabled: bool = True  # browserq sends no traces anywhere


class ProfileCreateV2(_Wire):
    """`profiles.create` / `update`: a browser profile that keeps its cookies (v1's `persist`).
    browserq's profiles have no userId: one given is refused (422), never dropped."""

    name: str | None = Field(default=None, max_length=100)
    user_id: str | None = Field(default=None, max_length=255)


class ProfileViewV2(_Wire):
    id: str
    user_id: str | None = None
    name: str | None = None
    last_used_at: Timestamp | None = None  # when a task last saved its cookies and storage
    created_at: Timestamp
    updated_at: Timestamp
    cookie_domains: list[str] | None = None


class ProfileListResponseV2(_Wire):
    items: list[ProfileViewV2]
    total_items: int
    page_number: int
    page_size: int

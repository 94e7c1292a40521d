"""Request and response models: exactly the wire shapes of the v1 contract."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from shared.bounded_schema import SchemaError, UnsafeSchema, check_schema
from shared.browser_kinds import BrowserKind
from shared.models import TaskStatus
from shared.netguard import DomainPattern

MAX_TASK_CHARS = 20_000
PROXY_COUNTRIES = ("us", "uk", "fr", "it", "jp", "au", "de", "fi", "ca", "in")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[datetime, PlainSerializer(_iso, return_type=str)]


def _has_default(field: Any) -> bool:
    return not field.is_required() and field.get_default(call_default_factory=True) is not None


class NullMeansDefault(BaseModel):
    """An explicit `null` for a field with a default means that default. The official
    OpenAPI types every optional field `X | null` and clients generated from it send
    nulls; the schema published here says so too."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {k: v for k, v in data.items() if v is not None or k not in fields or not _has_default(fields[k])}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            field = cls.model_fields.get(name)
            if field is not None and _has_default(field) and "anyOf" not in prop:
                extra = {k: prop.pop(k) for k in ("default", "title", "description") if k in prop}
                target["properties"][name] = {"anyOf": [prop, {"type": "null"}], **extra}
        return schema


def without_nulls(changes: dict[str, Any]) -> dict[str, Any]:
    """In a partial update (PUT), `null` means "unchanged", as the official reference has it."""
    return {name: value for name, value in changes.items() if value is not None}


class RunTaskRequest(NullMeansDefault):
    model_config = ConfigDict(extra="ignore")

    task: str = Field(min_length=1, max_length=MAX_TASK_CHARS)
    secrets: dict[str, str] | None = Field(default=None, max_length=50)
    allowed_domains: list[str] | None = Field(default=None, max_length=100)
    browser_profile_id: str | None = None
    save_browser_data: bool = False
    structured_output_json: str | dict[str, Any] | None = None
    llm_model: str = "gpt-4.1"
    use_adblock: bool = True
    use_proxy: bool = True
    proxy_country_code: str = "us"
    highlight_elements: bool = True
    included_file_names: list[str] | None = Field(default=None, max_length=50)
    browser_viewport_width: int = Field(default=1280, ge=320, le=4096)
    browser_viewport_height: int = Field(default=960, ge=240, le=4096)
    max_agent_steps: int = Field(default=75, ge=1, le=200)
    enable_public_share: bool = False
    metadata: dict[str, str] | None = None
    # (ext) The task's spending cap in USD: before each model call the worker adds the call's
    # expected cost to what the task spent and stops the task, failed, rather than pass it.
    max_cost_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    # (ext) A judge: after the run, a model reads the task, the ground truth, the result and
    # the steps and gives a verdict (TaskView.judgement); its tokens count in the task's cost.
    judge: bool = False
    judge_ground_truth: str | None = Field(default=None, max_length=MAX_TASK_CHARS)
    judge_llm: str | None = None  # (ext) the judge's model: default BROWSERQ_JUDGE_MODEL, else llm_model

    @field_validator("judge_ground_truth", "judge_llm")
    @classmethod
    def _judge_fields_need_a_judge(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A field-level check, so the 422 names the field (`judge` is declared, so checked, first)."""
        if value is not None and not info.data.get("judge"):
            raise ValueError(f"{info.field_name} is for the judge: send judge: true with it, or leave it out")
        return value

    # Extension: the kind of browser to run in (stealth, headful, lean; docs/operations.md,
    # "Browser kinds"); None: the operator's default (BROWSERQ_BROWSER_KIND).
    browser_kind: BrowserKind | None = None

    @field_validator("task")
    @classmethod
    def _task_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("task must not be blank: say what the agent should do")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, secret in (value or {}).items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}", name):
                raise ValueError(
                    f"secret name {name!r} is not allowed: use letters, digits, '_', '.', '-' (max 64 chars)"
                )
            if len(secret) > 10_000:
                raise ValueError(f"secret {name!r} is longer than 10000 characters")
        return value

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for domain in value:
            DomainPattern.parse(domain)  # raises with what is wrong and an example
        return [domain.strip().lower() for domain in value]

    @field_validator("structured_output_json")
    @classmethod
    def _schema(cls, value: str | dict[str, Any] | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"structured_output_json is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError("structured_output_json must be a JSON Schema object")
        try:
            check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"structured_output_json is not a valid JSON Schema: {exc.message}") from None
        except UnsafeSchema as exc:
            raise ValueError(f"structured_output_json is refused: {exc}") from None
        return json.dumps(value)

    @field_validator("proxy_country_code")
    @classmethod
    def _country(cls, value: str) -> str:
        code = value.lower()
        if code not in PROXY_COUNTRIES:
            raise ValueError(f"proxy_country_code must be one of {', '.join(PROXY_COUNTRIES)}")
        return code

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if len(value) > 10:
            raise ValueError(f"metadata holds at most 10 pairs, got {len(value)}")
        for key, item in value.items():
            if not 1 <= len(key) <= 100:
                raise ValueError(f"metadata key {key[:20]!r}... must be 1 to 100 characters")
            if len(item) > 1000:
                raise ValueError(f"metadata value for {key!r} must be at most 1000 characters")
        return value


class TaskCreatedResponse(BaseModel):
    id: str


class StepView(BaseModel):
    id: str
    step: int
    evaluation_previous_goal: str
    next_goal: str
    url: str
    memory: str | None = None
    actions: list[dict[str, Any]] | None = None
    screenshot_url: str | None = None
    duration_ms: int | None = None


class BrowserData(BaseModel):
    cookies: list[dict[str, Any]]


class Cost(BaseModel):
    """(ext) The task's model tokens so far and what they cost in USD at its model's
    price (settings); `usd` is null when the model has no price."""

    input_tokens: int
    output_tokens: int
    usd: float | None


class TaskView(BaseModel):
    id: str
    task: str
    output: str | None
    status: TaskStatus
    created_at: Timestamp
    finished_at: Timestamp | None
    steps: list[StepView]
    live_url: str | None = None
    browser_data: BrowserData | None = None
    user_uploaded_files: list[str] | None = None
    output_files: list[str] | None = None
    public_share_url: str | None = None
    metadata: dict[str, str] | None = None
    replay_of: str | None = None  # (ext) the task this one replays (POST /task/{id}/replay)
    browser_kind: str | None = None  # (ext) the kind of browser it runs in (docs/operations.md, "Browser kinds")
    # (ext) What the agent asked a person (ask_human) while the task waits paused for the
    # answer (POST /task/{id}/answer); null when it is not waiting for one.
    human_question: str | None = None
    cost: Cost | None = None  # (ext)
    # (ext) The judge's verdict once it ran (judge: true): {"verdict", "reasoning", "failureReason", "model"}.
    judgement: dict[str, Any] | None = None
    # (ext) Where the answer was read on the page when the agent finished: a replay and an
    # exported script (GET /task/{id}/script) read those places again (docs/api.md, "Replay").
    answer_sources: dict[str, Any] | None = None


class TaskSummary(BaseModel):
    id: str
    task: str
    output: str | None
    status: TaskStatus
    created_at: Timestamp
    finished_at: Timestamp | None
    live_url: str | None = None
    human_question: str | None = None  # (ext) as in TaskView
    cost: Cost | None = None  # (ext)


class TaskPage(BaseModel):
    tasks: list[TaskSummary]
    total_pages: int
    page: int
    limit: int
    total_count: int


class Empty(BaseModel):
    pass


class AnswerRequest(BaseModel):
    """(ext) POST /task/{id}/answer."""

    model_config = ConfigDict(extra="ignore")

    answer: str = Field(min_length=1, max_length=10_000, description="What the person answers")
    secret: bool = Field(default=False, description="Keep it like a task secret: the agent types it, never sees it")

    @field_validator("answer")
    @classmethod
    def _storable(cls, value: str) -> str:
        """It is stored and shown to the model as text: no NUL, no lone surrogate, not blank."""
        if not value.strip():
            raise ValueError("answer must not be blank: to go on without one, resume the task (PUT /resume-task)")
        if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
            raise ValueError("answer must be text without NUL characters or lone surrogates")
        return value


class ErrorDetail(BaseModel):
    detail: str


def _profile_country(value: str) -> str:
    if value.lower() not in PROXY_COUNTRIES:
        raise ValueError(f"proxy_country_code must be one of {', '.join(c.upper() for c in PROXY_COUNTRIES)}")
    return value.upper()


class BrowserProfileCreate(NullMeansDefault):
    model_config = ConfigDict(extra="ignore")

    profile_name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    persist: bool = True
    ad_blocker: bool = True
    proxy: bool = True
    proxy_country_code: str = "US"
    browser_viewport_width: int = Field(default=1280, ge=320, le=4096)
    browser_viewport_height: int = Field(default=960, ge=240, le=4096)

    @field_validator("profile_name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("profile_name must not be blank")
        return value

    @field_validator("proxy_country_code")
    @classmethod
    def _country(cls, value: str) -> str:
        return _profile_country(value)


class BrowserProfileUpdate(BaseModel):
    """PUT is a partial update: only the fields sent change; a null leaves its field unchanged."""

    model_config = ConfigDict(extra="ignore")

    profile_name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    persist: bool | None = None
    ad_blocker: bool | None = None
    proxy: bool | None = None
    proxy_country_code: str | None = None
    browser_viewport_width: int | None = Field(default=None, ge=320, le=4096)
    browser_viewport_height: int | None = Field(default=None, ge=240, le=4096)

    @field_validator("profile_name")
    @classmethod
    def _name_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("profile_name must not be blank")
        return value

    @field_validator("proxy_country_code")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else _profile_country(value)


class BrowserProfileView(BaseModel):
    profile_id: str
    profile_name: str
    description: str
    persist: bool
    ad_blocker: bool
    proxy: bool
    proxy_country_code: str
    browser_viewport_width: int
    browser_viewport_height: int


class BrowserProfilePage(BaseModel):
    profiles: list[BrowserProfileView]
    total_pages: int
    page: int
    limit: int
    total_count: int

"""The wire shapes of the v4 runs API, as browser-use-sdk 3.12's v4 client sends and
validates them (its generated models): camelCase keys, UUID ids, aware datetimes,
USD as decimal text. Requests forbid unknown keys, like the reference: a field
browserq does not know is a 422, never dropped."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.schemas import MAX_TASK_CHARS, Timestamp


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class _Request(_Wire):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class SecretSourceV4(_Request):
    type: Literal["inline", "onepassword"]
    value: str | None = Field(default=None, min_length=1, max_length=4096)
    integration_id: str | None = None
    vault_id: str | None = None
    item_id: str | None = None
    field_id: str | None = None


class SecretBindingV4(_Request):
    alias: str
    source: SecretSourceV4
    allowed_domains: list[str] = Field(min_length=1, max_length=20)


class RunBrowserSettingsV4(_Request):
    profile_id: str | None = None
    proxy_country_code: str | None = None  # sent: a country, or null for no proxy; omitted: the default
    custom_proxy: dict[str, Any] | None = None
    screen_width: int | None = None
    screen_height: int | None = None
    allow_resizing: bool | None = None
    record: bool | None = None
    extension_ids: list[str] | None = None


class RunJudgeSettingsV4(_Request):
    context: str | None = Field(default=None, max_length=10_000)


class RunCreateRequestV4(_Request):
    task: str = Field(min_length=1, max_length=MAX_TASK_CHARS)
    output_schema: dict[str, Any] | None = None
    model: str | None = None
    model_params: dict[str, Any] | None = None
    session_id: str | None = None
    workspace_id: str | None = None
    browser_settings: RunBrowserSettingsV4 | None = None
    keep_alive: int | None = None
    agentmail: bool | None = None
    agentcard_wallet_id: str | None = None
    stripe_link_connection_id: str | None = None
    attached_file_ids: list[str] | None = None
    secret_bindings: list[SecretBindingV4] | None = Field(default=None, max_length=20)
    op_vault_id: str | None = None
    op_vault_allowed_domains: list[str] | None = None
    judge: RunJudgeSettingsV4 | None = None
    max_cost_usd: float | str | None = None


RunStatusV4 = Literal["queued", "dispatching", "running", "completed", "failed", "cancelled"]


class RunCreateResponseV4(_Wire):
    id: str
    status: RunStatusV4
    model: str
    session_id: str
    workspace_id: str
    events_url: str


class RunSummaryV4(_Wire):
    id: str
    task: str
    title: str | None
    model: str
    model_params: dict[str, Any] | None = None
    context_limit: int
    status: RunStatusV4
    result: str | None
    output: Any = None
    output_schema: dict[str, Any] | None = None
    error: str | None
    session_id: str
    workspace_id: str | None
    attached_file_ids: list[str] | None = None
    judgement: dict[str, Any] | None = None
    total_input_tokens: int
    total_output_tokens: int
    total_cost_usd: str
    created_at: Timestamp
    updated_at: Timestamp
    # (ext) what v4 has no field for: a paused run shows `running` and these say why
    paused: bool = False
    human_question: str | None = None
    live_url: str | None = None


class RunStatusResponseV4(_Wire):
    status: RunStatusV4


class RunListResponseV4(_Wire):
    runs: list[RunSummaryV4]
    next_cursor: str | None = None
    has_more: bool = False


class RunEventV4(_Wire):
    run_id: str
    id: int
    ts: Timestamp
    type: str
    data: dict[str, Any]


class RunEventsResponseV4(_Wire):
    events: list[RunEventV4]
    next_after: int | None = None
    has_more: bool = False


class RunAttachmentV4(_Wire):
    id: str
    name: str
    content_type: str
    size_bytes: int
    status: Literal["pending", "uploaded"]
    download_url: str | None = None  # (ext) a signed, expiring URL of the file


class RunAttachmentsResponseV4(_Wire):
    attachments: list[RunAttachmentV4]

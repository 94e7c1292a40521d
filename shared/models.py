"""Database tables. The database is the single source of truth for a task:
the broker only carries "run task X"."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class TaskStatus(str, enum.Enum):
    created = "created"
    running = "running"
    paused = "paused"
    finished = "finished"
    stopped = "stopped"
    failed = "failed"


FINAL_STATUSES = (TaskStatus.finished, TaskStatus.stopped, TaskStatus.failed)


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), **kw))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(default_factory=new_id, primary_key=True)
    name: str
    key_hash: str = Field(index=True, unique=True)  # sha256 hex of the key; the key itself is never stored
    prefix: str  # the first characters, to tell keys apart in listings
    created_at: datetime = _ts(nullable=False, default=utcnow)
    revoked_at: datetime | None = _ts(nullable=True)
    # USD this key may spend on model tokens (None: no limit); see shared/billing.py.
    budget_usd: float | None = None


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_owner_created", "owner_id", "created_at"),
        Index("ix_tasks_status_heartbeat", "status", "heartbeat_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(foreign_key="api_keys.id")
    task: str = Field(sa_column=Column(Text, nullable=False))
    status: TaskStatus = Field(default=TaskStatus.created)
    output: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts(nullable=False, default=utcnow)
    started_at: datetime | None = _ts(nullable=True)
    finished_at: datetime | None = _ts(nullable=True)

    # The request, as submitted (secrets encrypted).
    secrets_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    secret_names: list[str] | None = Field(default=None, sa_column=Column(JSON))
    allowed_domains: list[str] | None = Field(default=None, sa_column=Column(JSON))
    browser_profile_id: str | None = None
    save_browser_data: bool = False
    structured_output_json: str | None = Field(default=None, sa_column=Column(Text))
    llm_model: str = "gpt-4.1"
    use_adblock: bool = True
    use_proxy: bool = True
    proxy_country_code: str = "us"
    highlight_elements: bool = True
    included_file_names: list[str] | None = Field(default=None, sa_column=Column(JSON))
    browser_viewport_width: int = 1280
    browser_viewport_height: int = 960
    max_agent_steps: int = 75
    enable_public_share: bool = False
    task_metadata: dict[str, str] | None = Field(default=None, sa_column=Column("metadata", JSON))

    # Results.
    browser_data_encrypted: str | None = Field(default=None, sa_column=Column(Text))  # {"cookies": [...]}, Fernet
    output_files: list[str] | None = Field(default=None, sa_column=Column(JSON))
    input_tokens: int = 0
    output_tokens: int = 0

    # Execution: who runs it, which attempt, and the lease.
    enqueued_at: datetime | None = _ts(nullable=True)
    worker_id: str | None = None
    attempt: int = 0
    heartbeat_at: datetime | None = _ts(nullable=True)
    paused_at: datetime | None = _ts(nullable=True)
    # Set when the retention job deleted the task's files; file endpoints then answer 410.
    files_expired_at: datetime | None = _ts(nullable=True)
    # With enable_public_share: the random token that opens the read-only share page.
    public_share_token: str | None = Field(default=None, index=True, unique=True)
    # A replay (POST /task/{id}/replay): the task whose recorded steps this one repeats.
    replay_of: str | None = None
    # Set when a worker could not claim the task because its key was at its cap of
    # running tasks; the maintenance loop sends it again once a slot is free.
    capped_at: datetime | None = _ts(nullable=True)
    # ask_human: the agent's question while the task waits (paused) for a person, and the
    # answer given (Fernet JSON {"answer", "secret"}) until the worker takes it.
    human_question: str | None = Field(default=None, sa_column=Column(Text))
    human_answer_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    # The task's own spending cap in USD (v4 maxCostUsd): checked before each model call.
    max_cost_usd: float | None = None
    # The judge (v2 judge, v4 judge): after the run a model reads it and gives a verdict.
    judge: bool = False
    judge_ground_truth: str | None = Field(default=None, sa_column=Column(Text))  # v2 ground truth, v4 context
    judge_llm: str | None = None  # the judge's model; None: BROWSERQ_JUDGE_MODEL, else the task's own
    judgement: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    judge_input_tokens: int = 0  # the judge's tokens, priced at its own model (shared/billing.py)
    judge_output_tokens: int = 0
    # Where a finished task's answer was read on the page (worker/browser/answer_sources.py):
    # a replay and an exported script read those elements again instead of repeating the output.
    answer_sources: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # The kind of browser it runs in (shared/browser_kinds.py), decided at submit; None on
    # tasks stored before kinds existed, which run in the operator's default kind.
    browser_kind: str | None = None


class Step(SQLModel, table=True):
    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("task_id", "step", name="uq_steps_task_step"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    task_id: str = Field(foreign_key="tasks.id", index=True)
    step: int
    attempt: int = 1
    evaluation_previous_goal: str = Field(default="", sa_column=Column(Text, nullable=False))
    memory: str = Field(default="", sa_column=Column(Text, nullable=False))
    next_goal: str = Field(default="", sa_column=Column(Text, nullable=False))
    url: str = Field(default="", sa_column=Column(Text, nullable=False))
    actions: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    results: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    duration_ms: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    created_at: datetime = _ts(nullable=False, default=utcnow)
    screenshot_key: str | None = None  # where the step's screenshot is in storage
    # Per action, the element line its index named (null: none); what a replay matches on.
    elements: list[str | None] | None = Field(default=None, sa_column=Column(JSON))
    # Step 1 only: what the worker's set-up told the model (no proxy for the country, a
    # deleted profile...). Kept apart from the model's own evaluation; shown before it.
    notices: list[str] | None = Field(default=None, sa_column=Column(JSON))

    @property
    def shown_evaluation(self) -> str:
        """The evaluation as the API shows it: one `Note:` line per notice, then the model's own."""
        lines = [f"Note: {n}" for n in self.notices or []]
        return "\n".join([*lines, self.evaluation_previous_goal] if self.evaluation_previous_goal else lines)


class BrowserProfile(SQLModel, table=True):
    """Saved browser settings, and with `persist` the cookies and local storage
    its tasks carry from one to the next (Playwright's storage state, encrypted)."""

    __tablename__ = "browser_profiles"
    __table_args__ = (Index("ix_browser_profiles_owner_created", "owner_id", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(foreign_key="api_keys.id")
    profile_name: str
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    persist: bool = True
    ad_blocker: bool = True
    proxy: bool = True
    proxy_country_code: str = "US"
    browser_viewport_width: int = 1280
    browser_viewport_height: int = 960
    created_at: datetime = _ts(nullable=False, default=utcnow)
    updated_at: datetime = _ts(nullable=False, default=utcnow)
    # The last saved storage state: the later of two concurrent tasks' saves wins.
    storage_state_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    storage_saved_at: datetime | None = _ts(nullable=True)
    storage_saved_by: str | None = None  # the task whose state this is


class Webhook(SQLModel, table=True):
    """Where a key's task events are POSTed, and the secret that signs them."""

    __tablename__ = "webhooks"

    owner_id: str = Field(foreign_key="api_keys.id", primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    secret_encrypted: str = Field(sa_column=Column(Text, nullable=False))  # Fernet
    created_at: datetime = _ts(nullable=False, default=utcnow)
    updated_at: datetime = _ts(nullable=False, default=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook: written in the same transaction as the change
    it reports (an outbox), then sent and retried by `shared.webhooks`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_owner_created", "owner_id", "created_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(foreign_key="api_keys.id")
    event_type: str
    task_id: str | None = None
    task_status: str | None = None
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = "pending"  # pending, delivered, failed
    attempts: int = 0
    status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    url: str | None = Field(default=None, sa_column=Column(Text))  # where the last attempt went
    created_at: datetime = _ts(nullable=False, default=utcnow)
    next_attempt_at: datetime = _ts(nullable=False, default=utcnow)
    finished_at: datetime | None = _ts(nullable=True)


class ScheduledTask(SQLModel, table=True):
    """A run-task request that runs by itself on an interval or a cron expression."""

    __tablename__ = "scheduled_tasks"
    __table_args__ = (
        Index("ix_scheduled_tasks_due", "is_active", "next_run_at"),
        Index("ix_scheduled_tasks_owner_created", "owner_id", "created_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(foreign_key="api_keys.id")
    # The validated run-task fields, secrets left out (they are in secrets_encrypted).
    request: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    secrets_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    schedule_type: str  # interval or cron
    interval_minutes: int | None = None
    cron_expression: str | None = None
    start_at: datetime = _ts(nullable=False)
    end_at: datetime = _ts(nullable=False)
    next_run_at: datetime | None = _ts(nullable=True)  # None once the schedule has ended
    is_active: bool = True
    created_at: datetime = _ts(nullable=False, default=utcnow)
    updated_at: datetime = _ts(nullable=False, default=utcnow)
    last_run_at: datetime | None = _ts(nullable=True)
    last_task_id: str | None = None
    run_count: int = 0
    # Runs that fell due while the previous run was still going (or could not start).
    skipped_count: int = 0
    last_skipped_at: datetime | None = _ts(nullable=True)
    last_skip_reason: str | None = Field(default=None, sa_column=Column(Text))


class IdempotencyKey(SQLModel, table=True):
    """A run-task request sent with an Idempotency-Key header: a retry of it within
    24 h gets the same task (see api/idempotency.py)."""

    __tablename__ = "idempotency_keys"

    owner_id: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    fingerprint: str  # keyed hash of the route and the validated body, never the body itself
    task_id: str
    created_at: datetime = _ts(nullable=False, default=utcnow)


class WorkerPresence(SQLModel, table=True):
    """A running worker and the kind of browser it serves, renewed every few seconds,
    so run-task can refuse a kind no worker serves (see shared/worker_presence.py)."""

    __tablename__ = "worker_presence"

    worker_id: str = Field(primary_key=True)  # host:pid of the worker's main process
    browser_kind: str
    seen_at: datetime = _ts(nullable=False, default=utcnow)

"""Wire shapes of scheduled tasks: every run-task field, plus when to run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic.fields import FieldInfo

from api.schedule_times import bounded, cron_error
from api.schemas import RunTaskRequest, Timestamp
from shared.models import utcnow

SCHEDULE_FIELDS = ("schedule_type", "interval_minutes", "cron_expression", "start_at", "end_at")
DEFAULT_LENGTH = timedelta(days=365)


class ScheduledTaskCreate(RunTaskRequest):
    schedule_type: Literal["interval", "cron"]
    interval_minutes: int | None = Field(default=None, ge=1, le=525_600, description="with schedule_type interval")
    cron_expression: str | None = Field(default=None, max_length=200, description="with schedule_type cron; UTC")
    start_at: datetime | None = Field(default=None, description="default: now")
    end_at: datetime | None = Field(default=None, description="default: a year after start_at")

    @model_validator(mode="after")
    def _timing(self) -> ScheduledTaskCreate:
        if self.schedule_type == "interval":
            if self.interval_minutes is None:
                raise ValueError("schedule_type 'interval' needs interval_minutes (1 or more)")
            self.cron_expression = None
        else:
            if not self.cron_expression:
                raise ValueError("schedule_type 'cron' needs cron_expression, e.g. '0 9 * * 1-5'")
            self.cron_expression = self.cron_expression.strip()
            reason = cron_error(self.cron_expression)
            if reason:
                raise ValueError(reason)
            self.interval_minutes = None
        self.start_at = bounded(self.start_at, "start_at") if self.start_at else utcnow()
        self.end_at = bounded(self.end_at or self.start_at + DEFAULT_LENGTH, "end_at")
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self

    def run_request(self) -> dict[str, Any]:
        """The run-task fields each run is made from (secrets apart: they are stored encrypted)."""
        return self.model_dump(mode="json", exclude={"secrets", *SCHEDULE_FIELDS})


class ScheduledTaskUpdate(BaseModel):
    """PUT is a partial update: any field of the create body, and is_active."""

    model_config = ConfigDict(extra="allow")

    is_active: bool | None = None


class ScheduleState(BaseModel):
    id: str
    schedule_type: str
    interval_minutes: int | None
    cron_expression: str | None
    start_at: Timestamp
    end_at: Timestamp
    next_run_at: Timestamp = Field(description="the next run; paused: the run it makes when resumed; ended: end_at")
    is_active: bool
    created_at: Timestamp
    updated_at: Timestamp
    # (ext) what the dispatcher did: always sent, optional in the schema (not in the official one)
    run_count: int = 0
    last_run_at: Timestamp | None = None
    last_task_id: str | None = None
    skipped_count: int = 0
    last_skipped_at: Timestamp | None = None
    last_skip_reason: str | None = None


# The run-task fields the official ScheduledTaskResponse requires; the others are (ext).
VIEW_REQUIRED = {"task", "save_browser_data", "llm_model", "use_adblock", "use_proxy", "highlight_elements"}


def _view_field(name: str, field: FieldInfo) -> tuple[Any, Any]:
    if name in VIEW_REQUIRED:
        return (field.annotation, Field(...))
    return (field.annotation, field)


# The view: the run-task fields (no secrets) plus the schedule's state.
ScheduledTaskView = create_model(  # type: ignore[call-overload]
    "ScheduledTaskView",
    __base__=ScheduleState,
    **{name: _view_field(name, field) for name, field in RunTaskRequest.model_fields.items() if name != "secrets"},
)


class ScheduledTaskPage(BaseModel):
    tasks: list[ScheduledTaskView]  # type: ignore[valid-type]
    total_pages: int
    page: int
    limit: int
    total_count: int

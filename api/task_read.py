"""What every API version shows of a task, computed once: its cost, the question
it waits on, its live and share links, its step screenshots, its files, whether
the agent called itself successful and the judge's verdict, and each of its steps
(`StepRead`). v1 (api/views.py), v2 (api/v2_mapping.py) and v4 (api/v4/mapping.py)
are mappings over this read model, so a fact of a task or a step is never computed
twice nor differently by version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from api.file_urls import screenshot_url
from api.public_links import live_url, share_url
from shared import billing
from shared.models import Step, Task, TaskStatus
from shared.settings import Settings


@dataclass(frozen=True)
class StepRead:
    """One stored step as every API version shows it, under v1's names (v1's StepView is
    read from it field by field; v2 and v4 rename). A new step field shown by the API is
    added here, from the row (worker/agent/steps.py builds the row)."""

    id: str
    step: int
    evaluation_previous_goal: str  # as shown: one `Note:` line per notice, then the model's own
    memory: str
    next_goal: str
    url: str
    actions: list[dict[str, Any]] | None
    duration_ms: int | None
    screenshot_url: str | None
    created_at: datetime


@dataclass(frozen=True)
class TaskRead:
    """One task as the API shows it. `steps` is every recorded step for a full view,
    or just the last one (enough for `is_success`) for a list or a status."""

    task: Task
    steps: list[Step]
    settings: Settings

    @property
    def cost(self) -> billing.TaskCost:
        return billing.cost_of(self.task, self.settings)

    @property
    def human_question(self) -> str | None:
        """The agent's question, while the task waits (paused) for a person to answer it."""
        return self.task.human_question if self.task.status == TaskStatus.paused else None

    @property
    def live_url(self) -> str | None:
        return live_url(self.task, self.settings)

    @property
    def share_url(self) -> str | None:
        return share_url(self.task, self.settings)

    def screenshot_url(self, step: Step) -> str | None:
        return screenshot_url(self.task, step.screenshot_key)

    @property
    def step_reads(self) -> list[StepRead]:
        """Every step of `steps` as the API shows it."""
        return [
            StepRead(
                id=s.id,
                step=s.step,
                evaluation_previous_goal=s.shown_evaluation,
                memory=s.memory,
                next_goal=s.next_goal,
                url=s.url,
                actions=s.actions,
                duration_ms=s.duration_ms,
                screenshot_url=self.screenshot_url(s),
                created_at=s.created_at,
            )
            for s in self.steps
        ]

    @property
    def output_files(self) -> list[str]:
        return list(self.task.output_files or [])

    @property
    def last_step(self) -> Step | None:
        return self.steps[-1] if self.steps else None

    @property
    def is_success(self) -> bool | None:
        """What the agent said of itself when it finished (`done`'s `success`)."""
        if self.task.status == TaskStatus.failed:
            return False
        if self.task.status != TaskStatus.finished:
            return None
        last = self.last_step
        for action in reversed((last.actions or []) if last else []):
            if "done" in action:
                return bool((action["done"] or {}).get("success", True))
        return True

    @property
    def judgement(self) -> dict[str, Any] | None:
        """The judge's report once it ran: verdict (bool), reasoning, failureReason, model."""
        return self.task.judgement

    @property
    def judge_verdict(self) -> bool | None:
        return None if self.task.judgement is None else bool(self.task.judgement.get("verdict"))


def read_task(task: Task, steps: list[Step], settings: Settings) -> TaskRead:
    return TaskRead(task, steps, settings)


def usd_text(usd: float) -> str:
    """A USD amount as the hosted APIs write it: plain decimal text, no exponent."""
    return format(Decimal(str(usd)).normalize(), "f") if usd else "0"

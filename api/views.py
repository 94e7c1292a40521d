"""A v1 task as the API shows it: Task and its steps -> TaskView (GET /task/{id}, the
keyless live and share pages), Task -> TaskSummary (GET /tasks). The v2 shapes are
api/v2_mapping.py's."""

from __future__ import annotations

from typing import Any

from api.file_urls import screenshot_url
from api.public_links import live_url, share_url
from api.schemas import BrowserData, Cost, StepView, TaskSummary, TaskView
from shared import billing
from shared.crypto import decrypt_json
from shared.models import Step, Task, TaskStatus
from shared.settings import get_settings


def _browser_data(task: Task) -> BrowserData | None:
    """Cookies are stored encrypted; they are decrypted only to answer their owner."""
    if not task.browser_data_encrypted:
        return None
    return BrowserData.model_validate(decrypt_json(task.browser_data_encrypted))


def waiting_question(task: Task) -> str | None:
    """The agent's question, while the task waits for a person to answer it."""
    return task.human_question if task.status == TaskStatus.paused else None


def cost_view(task: Task) -> Cost:
    spent = billing.cost_of(task)
    return Cost(input_tokens=spent.input_tokens, output_tokens=spent.output_tokens, usd=spent.usd)


def _listed(task: Task) -> dict[str, Any]:
    """What GET /tasks shows of a task, and GET /task/{id} shows too."""
    return {
        "id": task.id,
        "task": task.task,
        "output": task.output,
        "status": task.status,
        "created_at": task.created_at,
        "finished_at": task.finished_at,
        "live_url": live_url(task, get_settings()),
        "human_question": waiting_question(task),
        "cost": cost_view(task),
    }


def task_view(task: Task, steps: list[Step]) -> TaskView:
    return TaskView(
        **_listed(task),
        steps=[
            StepView(
                id=s.id,
                step=s.step,
                evaluation_previous_goal=s.shown_evaluation,
                next_goal=s.next_goal,
                url=s.url,
                memory=s.memory,
                actions=s.actions,
                duration_ms=s.duration_ms,
                screenshot_url=screenshot_url(task, s.screenshot_key),
            )
            for s in steps
        ],
        browser_data=_browser_data(task),
        user_uploaded_files=task.included_file_names,
        output_files=task.output_files,
        metadata=task.task_metadata,
        replay_of=task.replay_of,
        browser_kind=task.browser_kind,
        public_share_url=share_url(task, get_settings()),
    )


def task_summary(task: Task) -> TaskSummary:
    """One task of GET /tasks: no steps, no files."""
    return TaskSummary(**_listed(task))

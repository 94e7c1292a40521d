"""A v1 task as the API shows it: Task and its steps -> TaskView (GET /task/{id}, the
keyless live and share pages), Task -> TaskSummary (GET /tasks). A mapping over the
read model (api/task_read.py); the v2 shapes are api/v2_mapping.py's."""

from __future__ import annotations

from typing import Any

from api.schemas import BrowserData, Cost, StepView, TaskSummary, TaskView
from api.task_read import TaskRead, read_task
from shared.crypto import decrypt_json
from shared.models import Step, Task
from shared.settings import get_settings


def _browser_data(task: Task) -> BrowserData | None:
    """Cookies are stored encrypted; they are decrypted only to answer their owner."""
    if not task.browser_data_encrypted:
        return None
    return BrowserData.model_validate(decrypt_json(task.browser_data_encrypted))


def _listed(read: TaskRead) -> dict[str, Any]:
    """What GET /tasks shows of a task, and GET /task/{id} shows too."""
    task, spent = read.task, read.cost
    return {
        "id": task.id,
        "task": task.task,
        "output": task.output,
        "status": task.status,
        "created_at": task.created_at,
        "finished_at": task.finished_at,
        "live_url": read.live_url,
        "human_question": read.human_question,
        "cost": Cost(input_tokens=spent.input_tokens, output_tokens=spent.output_tokens, usd=spent.usd),
    }


def task_view(task: Task, steps: list[Step]) -> TaskView:
    read = read_task(task, steps, get_settings())
    return TaskView(
        **_listed(read),
        steps=[StepView.model_validate(s, from_attributes=True) for s in read.step_reads],
        browser_data=_browser_data(task),
        user_uploaded_files=task.included_file_names,
        output_files=task.output_files,
        metadata=task.task_metadata,
        replay_of=task.replay_of,
        browser_kind=task.browser_kind,
        answer_sources=task.answer_sources,
        public_share_url=read.share_url,
        judgement=read.judgement,
    )


def task_summary(task: Task) -> TaskSummary:
    """One task of GET /tasks: no steps, no files."""
    return TaskSummary(**_listed(read_task(task, [], get_settings())))

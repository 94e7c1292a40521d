"""Which model drives a task: its configured provider, or for a replay
(`task.replay_of`) a ReplayModel over the original task's recorded steps."""

from __future__ import annotations

import asyncio

from shared import task_store
from shared.db import session_scope
from shared.models import Step, Task
from shared.settings import Settings
from worker.llm.base import ChatModel
from worker.llm.registry import resolve_model
from worker.llm.replay import RecordedStep, ReplayModel


async def model_for_task(task: Task, settings: Settings) -> ChatModel:
    if not task.replay_of:
        return resolve_model(task.llm_model, settings)
    steps = await asyncio.to_thread(load_recording, task.replay_of)
    route = settings.model_routes.get(task.llm_model)
    return ReplayModel(
        task.llm_model, steps, lambda: resolve_model(task.llm_model, settings), vision=bool(route and route.vision)
    )


def load_recording(task_id: str) -> dict[int, RecordedStep]:
    """The original's steps that can be replayed, by step number. A step stored
    before elements were recorded is left out: the replay hands over there."""
    with session_scope() as session:
        rows = task_store.recorded_steps(session, task_id)
        return {s.step: r for s in rows if (r := recorded_step(s)) is not None}


def recorded_step(step: Step) -> RecordedStep | None:
    actions, elements = step.actions or [], step.elements
    if not actions or elements is None or len(elements) != len(actions):
        return None
    ran = max(1, len(step.results or actions))  # the actions after a page change never ran
    return RecordedStep(
        step=step.step,
        answer={
            "evaluation_previous_goal": step.evaluation_previous_goal,  # the model's own (notices are apart)
            "memory": step.memory,
            "next_goal": step.next_goal,
            "action": actions[:ran],
        },
        elements=elements[:ran],
    )

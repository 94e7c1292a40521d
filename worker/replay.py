"""Which model drives a task: its configured provider, or for a replay
(`task.replay_of`) a ReplayModel over the original task's recorded steps, whose
final answer is read again from the page where the original read it."""

from __future__ import annotations

import asyncio
from typing import Any

from shared import task_store
from shared.db import session_scope
from shared.models import Task
from shared.settings import Settings
from worker.agent.steps import RecordedStep, recorded_step
from worker.browser import answer_sources
from worker.browser.session import BrowserSession
from worker.llm.base import ChatModel
from worker.llm.registry import resolve_model
from worker.llm.replay import ReplayModel


async def model_for_task(task: Task, settings: Settings, browser: BrowserSession) -> ChatModel:
    if not task.replay_of:
        return resolve_model(task.llm_model, settings)
    steps, sources = await asyncio.to_thread(load_recording, task.replay_of)
    route = settings.model_routes.get(task.llm_model)

    async def reread(answer: dict[str, Any]) -> dict[str, Any] | None:
        return await reread_answer(browser, sources, answer)

    return ReplayModel(
        task.llm_model,
        steps,
        lambda: resolve_model(task.llm_model, settings),
        vision=bool(route and route.vision),
        reread=reread,
    )


def load_recording(task_id: str) -> tuple[dict[int, RecordedStep], dict[str, Any] | None]:
    """The original's steps that can be replayed, by step number, and where its answer
    was read. A step stored before elements were recorded is left out: the replay hands over there."""
    with session_scope() as session:
        rows = task_store.recorded_steps(session, task_id)
        original = session.get(Task, task_id)
        sources = original.answer_sources if original is not None else None
        return {s.step: r for s in rows if (r := recorded_step(s)) is not None}, sources


async def reread_answer(
    browser: BrowserSession, sources: dict[str, Any] | None, answer: dict[str, Any]
) -> dict[str, Any] | None:
    """The recorded `done` answer with its values as the page shows them now; None when
    one of the places they were read from is gone (the model answers then). An answer the
    original did not read from the page (no sources) is repeated as it was."""
    if not sources:
        return answer
    done = answer["action"][0]["done"]
    page = await browser.page()
    if sources.get("kind") == "data" and done.get("data") is not None:
        data = await answer_sources.reread_data(page, sources, done["data"])
        if data is None:
            return None
        done["data"] = data
    elif sources.get("kind") == "text" and done.get("text") is not None:
        text = await answer_sources.reread_text(page, sources)
        if text is None:
            return None
        done["text"] = text
    return answer

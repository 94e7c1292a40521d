"""Search: browse and answer with the content relevant to a query, in the
same request. Each search is an ordinary agent task (visible in /tasks, with
its steps) whose step budget comes from `depth` (and `max_websites`) and
whose answer is forced into shape by a structured output schema. The caller
waits at most `settings.search_timeout_seconds`; past that the task is
stopped and the answer is a 504."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import quote_plus

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool

from api import task_control
from api.deps import OwnerId, SessionDep
from api.intake import create_task
from api.schemas import ErrorDetail, RunTaskRequest
from api.search_schemas import (
    SearchResult,
    SearchUrlRequest,
    SearchUrlResponse,
    SimpleSearchRequest,
    SimpleSearchResponse,
)
from shared.db import session_scope
from shared.models import FINAL_STATUSES, Task, TaskStatus
from shared.settings import get_settings

router = APIRouter(tags=["search"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    502: {"model": ErrorDetail, "description": "The search task failed"},
    504: {"model": ErrorDetail, "description": "The search did not finish in time; its task was stopped"},
}
POLL_SECONDS = 0.25
_RESULT = {
    "type": "object",
    "properties": {"url": {"type": "string"}, "content": {"type": "string"}},
    "required": ["url", "content"],
}


def simple_search_steps(max_websites: int, depth: int) -> int:
    """One step on the results page, about two (open, read) per page visited, one to answer."""
    return 2 + 2 * max_websites * depth


def search_url_steps(depth: int) -> int:
    return 1 + 2 * depth


@router.post("/simple-search", response_model=SimpleSearchResponse, responses=RESPONSES)
async def simple_search(body: SimpleSearchRequest, session: SessionDep, owner_id: OwnerId) -> SimpleSearchResponse:
    results_page = get_settings().search_url_template.replace("{query}", quote_plus(body.query))
    text = (
        f"Search the web for: {body.query}\n\n"
        f"1. Open the search results page {results_page}\n"
        f"2. Open the (at most {body.max_websites}) results most relevant to the query, one after the other. "
        f"On each site you may follow links up to {body.depth - 1} level(s) deep when that leads to more "
        "relevant content.\n"
        "3. From each site keep the content relevant to the query, as plain text in the page's own words.\n"
        "Finish with done: `data.results` holds one {url, content} per site that had relevant content."
    )
    schema = {
        "type": "object",
        "required": ["results"],
        "properties": {"results": {"type": "array", "maxItems": body.max_websites, "items": _RESULT}},
    }
    data, task_id = await _run_search(
        body.llm_model, text, schema, simple_search_steps(body.max_websites, body.depth), session, owner_id
    )
    return SimpleSearchResponse(results=[SearchResult(**r) for r in data["results"]], task_id=task_id)


@router.post("/search-url", response_model=SearchUrlResponse, responses=RESPONSES)
async def search_url(body: SearchUrlRequest, session: SessionDep, owner_id: OwnerId) -> SearchUrlResponse:
    text = (
        f"Open {body.url} and read what it says about: {body.query}\n\n"
        f"You may follow links on that site up to {body.depth - 1} level(s) deep when that leads to more relevant "
        "content. Keep the content relevant to the query, as plain text in the page's own words.\n"
        "Finish with done: `data.content` holds that content."
    )
    schema = {"type": "object", "required": ["content"], "properties": {"content": {"type": "string"}}}
    data, task_id = await _run_search(body.llm_model, text, schema, search_url_steps(body.depth), session, owner_id)
    return SearchUrlResponse(url=body.url, content=data["content"], task_id=task_id)


async def _run_search(
    llm_model: str | None, text: str, schema: dict[str, Any], max_steps: int, session: SessionDep, owner_id: str
) -> tuple[dict[str, Any], str]:
    """Start the task, wait for it, and return its structured output."""
    fields: dict[str, Any] = {"task": text, "structured_output_json": schema, "max_agent_steps": max_steps}
    if llm_model:
        fields["llm_model"] = llm_model
    task = await create_task(RunTaskRequest.model_validate(fields), session, owner_id)
    timeout = get_settings().search_timeout_seconds
    final = await _wait_final(task.id, timeout)
    if final is None:
        stopped = await run_in_threadpool(_stop, task.id, f"Stopped: the search took longer than {timeout:.0f} s.")
        if stopped:
            raise HTTPException(
                status.HTTP_504_GATEWAY_TIMEOUT,
                f"The search did not finish within {timeout:.0f} s, so its task {task.id} was stopped. Ask for "
                "fewer websites or a smaller depth, or raise BROWSERQ_SEARCH_TIMEOUT_SECONDS.",
            )
        final = await _wait_final(task.id, 0)  # it ended just as the time ran out
        assert final is not None
    if final.status != TaskStatus.finished or not final.output:
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY,
            f"The search task {task.id} ended {final.status.value}: {final.output or 'no output'}",
        )
    return json.loads(final.output), task.id


async def _wait_final(task_id: str, timeout: float) -> Task | None:
    """The task once it is final, polling the database; None if it is not within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        task = await run_in_threadpool(_load, task_id)
        if task.status in FINAL_STATUSES:
            return task
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(POLL_SECONDS)


def _load(task_id: str) -> Task:
    """A fresh session each poll: a long-lived SQLite read transaction would keep seeing its snapshot."""
    with session_scope() as session:
        task = session.get(Task, task_id)
        assert task is not None
        session.expunge(task)
        return task


def _stop(task_id: str, output: str) -> bool:
    with session_scope() as session:
        task = session.get(Task, task_id)
        assert task is not None
        try:
            task_control.stop(session, task.owner_id, task_id, output)
        except HTTPException:
            return False  # it ended meanwhile
        return True

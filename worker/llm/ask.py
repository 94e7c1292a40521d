"""Asking the model for one step's answer: retry transient failures, read the
JSON out of whatever the model wrote, and give it one chance to fix an answer
that does not fit the protocol. Everything that can go wrong ends in a
ModelError whose message the task's output shows as is."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import ValidationError

from shared import metrics
from shared.settings import Settings
from worker.agent.protocol import AgentOutput
from worker.llm.base import ChatModel, ModelError, ModelReply, ModelRequest, RetryableModelError, TokenUsage
from worker.llm.cost_cap import CappedCalls

# Called while a request is in flight or a retry waits (about every
# `settings.control_poll_seconds`); raising from it (e.g. the task was stopped)
# cancels the request and propagates. Sync or async.
OnWait = Callable[[], Awaitable[None] | None]
T = TypeVar("T")

FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


async def ask_model(
    model: ChatModel,
    request: ModelRequest,
    settings: Settings,
    *,
    on_wait: OnWait | None = None,
    capped: CappedCalls | None = None,
) -> tuple[AgentOutput, TokenUsage]:
    """One step's answer and the tokens all attempts used; with `capped`, each call is
    checked against the task's cost cap first (CostCapReached, a ModelError, if over)."""
    reply = await complete_capped(model, request, settings, on_wait, capped)
    try:
        return parse_answer(reply.text), reply.usage
    except ValueError as first:
        corrected = replace(request, corrections=[*request.corrections, correction_message(first)])
        second = await complete_capped(model, corrected, settings, on_wait, capped)
        usage = reply.usage + second.usage
        try:
            return parse_answer(second.text), usage
        except ValueError as exc:
            raise ModelError(f"the model's answer was not valid for the agent protocol after a retry: {exc}") from exc


async def complete_capped(
    model: ChatModel, request: ModelRequest, settings: Settings, on_wait: OnWait | None, capped: CappedCalls | None
) -> ModelReply:
    if capped is not None:
        capped.check(request)
    reply = await complete_with_retries(model, request, settings, on_wait)
    if capped is not None:
        capped.spend(reply.usage)
    return reply


async def complete_with_retries(
    model: ChatModel, request: ModelRequest, settings: Settings, on_wait: OnWait | None = None
) -> ModelReply:
    """`model.complete`, retried on transient errors with exponential backoff."""
    attempts = max(1, settings.model_retries + 1)
    for attempt in range(attempts):
        try:
            call = metrics.time_model_call(model.complete(request), getattr(model, "name", "unknown"))
            return await wait_watching(call, on_wait, settings.control_poll_seconds)
        except RetryableModelError as exc:
            if attempt == attempts - 1:
                raise ModelError(f"the model could not be reached after {attempts} attempts: {exc}") from exc
            delay = settings.model_retry_base_delay * 2**attempt
            await wait_watching(asyncio.sleep(delay), on_wait, settings.control_poll_seconds)
    raise AssertionError("unreachable")


async def wait_watching(awaitable: Awaitable[T], on_wait: OnWait | None, poll_seconds: float) -> T:
    """Await, calling `on_wait` every `poll_seconds` meanwhile, so a stop takes
    effect while the model thinks rather than after it answers."""
    if on_wait is None:
        return await awaitable
    task = asyncio.ensure_future(awaitable)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=poll_seconds)
            if done:
                return task.result()
            result = on_wait()
            if inspect.isawaitable(result):
                await result
    finally:
        task.cancel()


def parse_answer(text: str) -> AgentOutput:
    """The answer as AgentOutput; ValueError (with a message for the model) if it is not one."""
    data = extract_json(text)
    try:
        return AgentOutput.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_validation_message(exc)) from None


def extract_json(text: str) -> Any:
    """The one JSON object in the text: bare, in a ```json fence, or amid prose."""
    candidates = [text.strip(), *(m.strip() for m in FENCE.findall(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    preview = text.strip()[:200] or "(empty)"
    raise ValueError(f"the answer is not a JSON object: {preview!r}")


def correction_message(error: ValueError) -> str:
    return (
        f"Your last answer was not valid: {error}\n"
        "Answer again with exactly one JSON object with the keys evaluation_previous_goal, memory, next_goal "
        "and action (a list of 1 to 5 actions, each an object with exactly one key: the action's name)."
    )


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}" for err in exc.errors())

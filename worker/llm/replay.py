"""A model that answers from a finished task's recorded steps (a replay).

A replay repeats what the original run did without asking the model, so a
daily job that does the same thing each day costs no tokens and no model
latency. Elements are found again by their recorded description (the element
line, e.g. `<button type=submit>Sign in</button>`), not by their index, which
changes whenever the page gains or loses an element. On the first step whose
elements are not all on the page (or that the original never reached), the
replay hands over to the real model for the rest of the run; the model then
reads the replayed steps in its history like any steps of its own.

The final `done` is not repeated as it was: `reread` (worker.replay) reads the
answer's values again from where the original run read them, so a replay of a
job that reads a price answers today's price; when one of those places is gone
the model answers that last step.

It is a ChatModel, so the agent loop runs unchanged: the page state it needs
is in the request's user message, the same text the model would read."""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from worker.agent.steps import RecordedStep
from worker.llm.base import ChatModel, ModelReply, ModelRequest, TokenUsage

log = logging.getLogger("browserq.replay")

# An element line of the page content: optional "*" (new), "[index]", then the description.
_ELEMENT_LINE = re.compile(r"^\*?\[(\d+)\](<.*)$")
_STEP_LINE = re.compile(r"^Step (\d+) of at most \d+", re.MULTILINE)
_PAGE_CONTENT = "\nPage content:\n"


def page_elements(user_text: str) -> list[tuple[int, str]]:
    """(index, description) of each element line of the browser state in the user message."""
    start = user_text.rfind(_PAGE_CONTENT)
    if start < 0:
        return []
    body = user_text[start + len(_PAGE_CONTENT) :]
    found = (_ELEMENT_LINE.match(line) for line in body.splitlines())
    return [(int(m.group(1)), m.group(2)) for m in found if m]


def step_number(user_text: str) -> int | None:
    match = _STEP_LINE.search(user_text)
    return int(match.group(1)) if match else None


def map_answer(recorded: RecordedStep, elements: list[tuple[int, str]]) -> dict[str, Any] | None:
    """The recorded answer with each index pointing at the element of this page
    that has the recorded description; None when one of them is not here."""
    answer = copy.deepcopy(recorded.answer)
    # strict=False: a step recorded before elements were kept has none (no index is mapped then).
    for action, wanted in zip(answer["action"], recorded.elements, strict=False):
        if wanted is None:
            continue
        params = next(iter(action.values()))
        candidates = [index for index, description in elements if description == wanted]
        if not candidates:
            return None
        old = params.get("index")
        # Several identical elements (two "Add to cart" buttons): the one nearest its old place.
        params["index"] = min(candidates, key=lambda i: abs(i - old) if isinstance(old, int) else 0)
    return answer


def _finishes(answer: dict[str, Any]) -> bool:
    return any("done" in action for action in answer["action"])


class ReplayModel:
    """Answers from `steps` while the page matches, then from `fallback()` (made
    only when first needed, so a replay that never falls back needs no model)."""

    def __init__(
        self,
        name: str,
        steps: dict[int, RecordedStep],
        fallback: Callable[[], ChatModel],
        vision: bool = False,
        reread: Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]] | None = None,
    ) -> None:
        self.name = name
        self._reread = reread
        self._steps = steps
        self._fallback = fallback
        self._fallback_vision = vision
        self._model: ChatModel | None = None
        self.handed_over_at: int | None = None

    @property
    def vision(self) -> bool:
        """No screenshot is needed while replaying; the real model gets one if it sees images."""
        return self._model is not None and self._fallback_vision

    async def complete(self, request: ModelRequest) -> ModelReply:
        if self._model is None:
            answer = self._replayed(request)
            if answer is not None and self._reread is not None and _finishes(answer):
                answer = await self._reread(answer)
                if answer is None:
                    self.handed_over_at = step_number(request.user)
                    log.info(
                        "replay: step %s handed over to the model (the answer's elements are gone)", self.handed_over_at
                    )
            if answer is not None:
                return ModelReply(json.dumps(answer), TokenUsage())
            self._model = self._fallback()
        return await self._model.complete(request)

    def _replayed(self, request: ModelRequest) -> dict[str, Any] | None:
        step = step_number(request.user)
        recorded = self._steps.get(step) if step is not None else None
        answer = None
        if recorded is not None and not request.corrections:
            answer = map_answer(recorded, page_elements(request.user))
        if answer is None:
            self.handed_over_at = step
            reason = "the original run ended before it" if recorded is None else "its elements are not on the page"
            log.info("replay: step %s handed over to the model (%s)", step, reason)
        return answer

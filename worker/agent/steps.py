"""A step of the agent, in every shape the worker gives it, and every converter between them.

- `StepRecord`: what the loop records of a finished step (redacted), built by `step_record`;
- the `Step` row it is stored as (`step_row`: the one place a row is built,
  tests/integration/test_status_moves.py checks it);
- `HistoryItem`: what the model reads of a past step, from this attempt's step
  (`history_item`) or from a row an earlier attempt stored (`history_item_of_row`);
- `RecordedStep`: what a replay repeats of a row (`recorded_step`).

How an action's result becomes history text (`result_text`) is written here once. The
API's read of a stored step is api/task_read.py's `StepRead`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.models import Step
from shared.storable import storable, storable_text
from worker.agent import protocol as p
from worker.agent.actions import ActionResult
from worker.agent.redact import Redactor
from worker.browser.page_state import PageState
from worker.llm.base import TokenUsage


@dataclass
class StepRecord:
    """One finished step, already redacted, ready to store."""

    step: int
    evaluation_previous_goal: str
    memory: str
    next_goal: str
    url: str
    actions: list[dict[str, Any]]
    results: list[dict[str, str]]
    duration_ms: int
    usage: TokenUsage
    screenshot_key: str | None = None  # set by the worker once the screenshot is stored
    # Per action, the element line its index named (None: no index); a replay finds it again by it.
    elements: list[str | None] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # set by the worker on step 1: its set-up's notices


@dataclass
class HistoryItem:
    step: int
    evaluation: str
    memory: str
    next_goal: str
    results: list[str]


@dataclass
class RecordedStep:
    """One step of the original run: its answer, and per action the element it targeted."""

    step: int
    answer: dict[str, Any]  # evaluation_previous_goal, memory, next_goal, action (wire form)
    elements: list[str | None]


def result_text(error: Any, text: Any) -> str:
    """An action's result as the model reads it in its history: its error, else its text."""
    return str(error and f"error: {error}" or text)


def targeted_elements(state: PageState, actions: list[p.Action]) -> list[str | None]:
    """Per action, the description of the element its index named in this step's state."""
    refs = [state.elements.get(getattr(a.params, "index", None)) for a in actions]  # type: ignore[arg-type]
    return [ref.description if ref else None for ref in refs]


def step_record(
    step: int,
    answer: p.AgentOutput,
    state: PageState,
    results: list[ActionResult],
    duration_ms: int,
    usage: TokenUsage,
    redactor: Redactor,
) -> StepRecord:
    """What the loop records of a step: the model's answer, the page and the results, redacted."""
    return StepRecord(
        step=step,
        evaluation_previous_goal=redactor(answer.evaluation_previous_goal),
        memory=redactor(answer.memory),
        next_goal=redactor(answer.next_goal),
        url=redactor(state.url),
        actions=[redactor.scrub(a.as_wire()) for a in answer.action],
        elements=[redactor(d) if d else None for d in targeted_elements(state, answer.action)],
        results=[redactor.scrub(r.as_record()) for r in results],
        duration_ms=duration_ms,
        usage=usage,
    )


def history_item(
    step: int, answer: p.AgentOutput, results: list[ActionResult], skipped: list[str], redactor: Redactor
) -> HistoryItem:
    """What the model reads of the step it just took (`skipped`: why the rest of its actions did not run)."""
    return HistoryItem(
        step=step,
        evaluation=redactor(answer.evaluation_previous_goal),
        memory=redactor(answer.memory),
        next_goal=redactor(answer.next_goal),
        results=[redactor(result_text(r.error, r.text)) for r in results] + skipped,
    )


def step_row(task_id: str, attempt: int, record: StepRecord) -> Step:
    """The row a record is stored as: what the model and the page wrote, made storable first."""
    return Step(
        task_id=task_id,
        step=record.step,
        attempt=attempt,
        evaluation_previous_goal=storable_text(record.evaluation_previous_goal),
        memory=storable_text(record.memory),
        next_goal=storable_text(record.next_goal),
        url=storable_text(record.url),
        actions=storable(record.actions),
        results=storable(record.results),
        duration_ms=record.duration_ms,
        screenshot_key=record.screenshot_key,
        elements=storable(record.elements) or None,
        notices=storable(record.notices) or None,
        input_tokens=record.usage.input_tokens,
        output_tokens=record.usage.output_tokens,
    )


def history_item_of_row(step: Step) -> HistoryItem:
    """A step an earlier attempt stored, as the model saw its own history (values were redacted when recorded)."""
    return HistoryItem(
        step=step.step,
        evaluation=step.shown_evaluation,  # with its notices, as the model read its history before
        memory=step.memory,
        next_goal=step.next_goal,
        results=[result_text(r.get("error"), r.get("result", "")) for r in step.results or []],
    )


def recorded_step(step: Step) -> RecordedStep | None:
    """A stored step as a replay repeats it; None for one stored before elements were recorded."""
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

"""The judge: after a run that asked for one (v2 `judge`, v4 `judge`), a model reads
the task, the ground truth if given, the final output, the step history and, for a
vision model, the last screenshot, and says whether the task was done. Its report is
stored on the task (`judgement`) and its tokens count in the task's cost, under the
task's cost cap like every other call. A judge that cannot answer never changes the
run's own outcome: its report then says why it has no verdict."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.models import Task
from shared.settings import Settings
from worker.agent.loop import Outcome
from worker.agent.prompt import render_history
from worker.agent.steps import HistoryItem
from worker.llm.ask import complete_capped, extract_json
from worker.llm.base import ChatModel, ModelError, ModelRequest, TokenUsage
from worker.llm.cost_cap import CappedCalls

log = logging.getLogger("browserq.worker")

SYSTEM = """You judge the work of a browser agent. You are given the task it was set, what a
correct result looks like when the user said so (ground truth), the agent's final result, and the
history of its steps. Decide whether the agent did what the task asked, judging by the result and
the steps, not by what the agent said of itself.

Answer with ONE JSON object and nothing else:
{"verdict": true or false (true: the task was done as asked),
 "reasoning": "why, in a few sentences",
 "failure_reason": "when verdict is false: what was missing or wrong, else null"}"""


class Verdict(BaseModel):
    verdict: bool
    reasoning: str
    failure_reason: str | None = None


def judge_request(task: Task, outcome: Outcome, history: list[HistoryItem], screenshot: bytes | None) -> ModelRequest:
    parts = [f"<task>\n{task.task}\n</task>"]
    if task.judge_ground_truth:
        parts.append(f"<ground_truth>\n{task.judge_ground_truth}\n</ground_truth>")
    parts.append(f"<result status={outcome.status.value}>\n{outcome.output}\n</result>")
    parts.append(render_history(history, keep=50))
    return ModelRequest(
        system=SYSTEM, user="\n\n".join(parts), response_schema=Verdict.model_json_schema(), screenshot_jpeg=screenshot
    )


async def judge_run(
    model: ChatModel, request: ModelRequest, settings: Settings, capped: CappedCalls | None
) -> tuple[dict[str, Any], TokenUsage]:
    """The judge's report ({"verdict", "reasoning", "failureReason", "model"}) and its tokens."""
    report: dict[str, Any] = {"verdict": None, "reasoning": None, "failureReason": None, "model": model.name}
    try:
        reply = await complete_capped(model, request, settings, None, capped)
    except ModelError as exc:
        log.info("the judge did not answer: %s", exc)
        return {**report, "error": f"the judge did not answer: {exc}"}, TokenUsage()
    try:
        verdict = Verdict.model_validate(extract_json(reply.text))
    except (ValueError, ValidationError) as exc:
        return {**report, "error": f"the judge's answer was not a verdict: {str(exc)[:300]}"}, reply.usage
    report.update(verdict=verdict.verdict, reasoning=verdict.reasoning, failureReason=verdict.failure_reason)
    return report, reply.usage

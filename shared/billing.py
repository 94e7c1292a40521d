"""What a task and a key's tasks cost (model tokens at the prices of
`Settings.price_of`) and what a key has left of its budget. 1 credit = 0.01 USD."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from shared.models import ApiKey, Task
from shared.settings import ModelPrice, Settings, get_settings

CREDITS_PER_USD = Decimal(100)
PER_MILLION = Decimal(1_000_000)
USD_PLACES = Decimal("0.00000001")  # what a cost shows: a millionth of a cent


def tokens_usd(price: ModelPrice, input_tokens: int, output_tokens: int) -> Decimal:
    return (
        Decimal(input_tokens) * Decimal(str(price.input)) + Decimal(output_tokens) * Decimal(str(price.output))
    ) / PER_MILLION


@dataclass(frozen=True)
class TaskCost:
    """A task's tokens so far and what they cost; usd is None when its model has no price."""

    input_tokens: int
    output_tokens: int
    usd: float | None

    def as_dict(self) -> dict[str, int | float | None]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens, "usd": self.usd}


def task_cost(llm_model: str, input_tokens: int, output_tokens: int, settings: Settings | None = None) -> TaskCost:
    price = (settings or get_settings()).price_of(llm_model)
    usd = None if price is None else float(tokens_usd(price, input_tokens, output_tokens).quantize(USD_PLACES))
    return TaskCost(input_tokens, output_tokens, usd)


def cost_of(task: Task, settings: Settings | None = None) -> TaskCost:
    """The agent's tokens at the task's model price plus the judge's at its own model's."""
    run = task_cost(task.llm_model, task.input_tokens, task.output_tokens, settings)
    if not (task.judge_input_tokens or task.judge_output_tokens):
        return run
    judge = task_cost(judge_model_of(task), task.judge_input_tokens, task.judge_output_tokens, settings)
    usd = None if run.usd is None or judge.usd is None else round(run.usd + judge.usd, 8)
    return TaskCost(run.input_tokens + judge.input_tokens, run.output_tokens + judge.output_tokens, usd)


def judge_model_of(task: Task) -> str:
    return task.judge_llm or task.llm_model


def spend_by_model(session: Session, owner_id: str | None = None) -> list[tuple[str, int, int]]:
    """(llm_model, input tokens, output tokens) summed over the tasks (of one key, or all),
    the judges' tokens under the judge's model."""
    judge_model = func.coalesce(col(Task.judge_llm), col(Task.llm_model))
    queries = [
        select(Task.llm_model, func.sum(Task.input_tokens), func.sum(Task.output_tokens)).group_by(col(Task.llm_model)),
        select(judge_model, func.sum(Task.judge_input_tokens), func.sum(Task.judge_output_tokens))
        .where(col(Task.judge_input_tokens) + col(Task.judge_output_tokens) > 0)
        .group_by(judge_model),
    ]
    totals: dict[str, tuple[int, int]] = {}
    for query in queries:
        if owner_id is not None:
            query = query.where(col(Task.owner_id) == owner_id)
        for model, inp, out in session.exec(query).all():
            before = totals.get(model, (0, 0))
            totals[model] = (before[0] + int(inp or 0), before[1] + int(out or 0))
    return [(model, inp, out) for model, (inp, out) in totals.items()]


# What /balance shows for a key without a budget: ten million dollars' worth, "no limit".
UNLIMITED_CREDITS = 1_000_000_000


def spend_usd(session: Session, owner_id: str, settings: Settings | None = None) -> Decimal:
    """The cost of all the key's tasks so far; a model without a price costs nothing."""
    settings = settings or get_settings()
    total = Decimal(0)
    for model, input_tokens, output_tokens in spend_by_model(session, owner_id):
        price = settings.price_of(model)
        if price is not None:
            total += tokens_usd(price, input_tokens, output_tokens)
    return total


def budget_usd(session: Session, owner_id: str) -> Decimal | None:
    value = session.exec(select(ApiKey.budget_usd).where(ApiKey.id == owner_id)).one_or_none()
    return None if value is None else Decimal(str(value))


def balance_credits(session: Session, owner_id: str) -> str:
    """The whole credits left (budget minus spend, rounded down, never below 0), as the
    official API shows them: clients `int()` it and stop at 0. A key with no budget has
    no limit and shows UNLIMITED_CREDITS."""
    budget = budget_usd(session, owner_id)
    if budget is None:
        return str(UNLIMITED_CREDITS)
    credits = (budget - spend_usd(session, owner_id)) * CREDITS_PER_USD
    return str(max(0, math.floor(credits)))


def over_budget_reason(session: Session, owner_id: str) -> str | None:
    """Why the key may not start another task, or None when it may."""
    budget = budget_usd(session, owner_id)
    if budget is None:
        return None
    spent = spend_usd(session, owner_id)
    if spent < budget:
        return None
    return (
        f"This API key has used its budget (spent ${spent:.4f} of ${budget:.4f}). "
        "Ask the operator to raise it: `browserq keys budget <key prefix> <USD>`."
    )


def set_budget(session: Session, owner_id: str, usd: float | None) -> None:
    key = session.get(ApiKey, owner_id)
    assert key is not None
    key.budget_usd = usd
    session.add(key)
    session.commit()

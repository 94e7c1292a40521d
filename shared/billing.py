"""What a key's tasks cost (model tokens at the prices in `settings.models`)
and what it has left of its budget. 1 credit = 0.01 USD."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from shared.models import ApiKey, Task
from shared.settings import Settings, get_settings

CREDITS_PER_USD = Decimal(100)
PER_MILLION = Decimal(1_000_000)


def spend_usd(session: Session, owner_id: str, settings: Settings | None = None) -> Decimal:
    """The cost of all the key's tasks so far; a model without a price costs nothing."""
    routes = (settings or get_settings()).model_routes
    rows = session.exec(
        select(Task.llm_model, func.sum(Task.input_tokens), func.sum(Task.output_tokens))
        .where(col(Task.owner_id) == owner_id)
        .group_by(col(Task.llm_model))
    ).all()
    total = Decimal(0)
    for model, input_tokens, output_tokens in rows:
        route = routes.get(model)
        if route is None:
            continue
        total += (Decimal(int(input_tokens or 0)) * Decimal(str(route.input_price))
                  + Decimal(int(output_tokens or 0)) * Decimal(str(route.output_price))) / PER_MILLION
    return total


def budget_usd(session: Session, owner_id: str) -> Decimal | None:
    value = session.exec(select(ApiKey.budget_usd).where(ApiKey.id == owner_id)).one_or_none()
    return None if value is None else Decimal(str(value))


def balance_credits(session: Session, owner_id: str) -> str:
    """Budget minus spend, in credits; a key with no budget shows its spend as a negative balance."""
    budget = budget_usd(session, owner_id) or Decimal(0)
    credits = (budget - spend_usd(session, owner_id)) * CREDITS_PER_USD
    return str(credits.quantize(Decimal("0.01")))


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

"""The cost cap's arithmetic (worker/llm/cost_cap.py): what a call is expected to cost
and when it is refused, without a model or a browser."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.settings import ModelPrice
from worker.llm.base import ModelRequest, TokenUsage
from worker.llm.cost_cap import IMAGE_TOKENS, MIN_OUTPUT_TOKENS, CostCap, CostCapReached

PRICE = ModelPrice(input=2.0, output=8.0)  # USD per million tokens


def request(chars: int, image: bool = False) -> ModelRequest:
    return ModelRequest(system="", user="x" * chars, response_schema={}, screenshot_jpeg=b"j" if image else None)


def test_the_first_call_is_expected_from_the_prompt_and_later_ones_from_the_last_call() -> None:
    cap = CostCap(Decimal(1))
    assert cap.expected(request(4000)) == TokenUsage(1000, MIN_OUTPUT_TOKENS)
    assert cap.expected(request(4000, image=True)) == TokenUsage(1000 + IMAGE_TOKENS, MIN_OUTPUT_TOKENS)
    cap.spend(TokenUsage(50_000, 2_000), PRICE)
    assert cap.expected(request(4000)) == TokenUsage(50_000, 2_000)  # the prompt grows: the last call is the guess
    assert cap.spent_usd == Decimal("0.116")


def test_a_call_that_would_pass_the_cap_is_refused_saying_what_was_spent() -> None:
    cap = CostCap(Decimal("0.5"))
    for _ in range(2):
        cap.check(request(100), PRICE)
        cap.spend(TokenUsage(100_000, 1_000), PRICE)
    with pytest.raises(CostCapReached) as refused:
        cap.check(request(100), PRICE)
    assert str(refused.value) == (
        "stopped at the task's cost cap (max_cost_usd $0.5): it has spent $0.416 "
        "and the next model call was expected to cost $0.208"
    )


def test_a_cap_without_a_price_refuses_every_call() -> None:
    with pytest.raises(CostCapReached, match="no price"):
        CostCap(Decimal(1)).check(request(10), None)

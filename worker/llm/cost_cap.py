"""A task's own spending cap (`max_cost_usd`): before each model call, what the
task has spent plus what the call is expected to cost must stay within the cap,
or the call is not made and the task ends saying why. Expected: the larger of the
prompt's size in tokens (about four characters each, an image as IMAGE_TOKENS)
and the last call's input, and the last call's output (at least MIN_OUTPUT_TOKENS),
at the model's price: a step's prompt grows with the run, so the last call is the
best guess of the next."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.billing import USD_PLACES, tokens_usd
from shared.settings import ModelPrice
from worker.llm.base import ModelError, ModelRequest, TokenUsage

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1500  # what providers count for a screenshot of about 1280x960
MIN_OUTPUT_TOKENS = 500


class CostCapReached(ModelError):
    """The next model call would pass the task's cost cap: the task fails with this message."""


def _usd(value: Decimal) -> str:
    return format(value.quantize(USD_PLACES).normalize(), "f")


@dataclass
class CostCap:
    max_usd: Decimal
    spent_usd: Decimal = Decimal(0)  # every call so far, earlier attempts' included
    last: TokenUsage | None = None  # the tokens of the last call

    def expected(self, request: ModelRequest) -> TokenUsage:
        chars = len(request.system) + len(request.user) + sum(len(c) for c in request.corrections)
        input_tokens = chars // CHARS_PER_TOKEN + (IMAGE_TOKENS if request.screenshot_jpeg else 0)
        output_tokens = MIN_OUTPUT_TOKENS
        if self.last is not None:
            input_tokens = max(input_tokens, self.last.input_tokens)
            output_tokens = max(output_tokens, self.last.output_tokens)
        return TokenUsage(input_tokens, output_tokens)

    def check(self, request: ModelRequest, price: ModelPrice | None) -> None:
        """Raises CostCapReached when the call may not be made."""
        if price is None:
            raise CostCapReached("the task has a cost cap but its model has no price, so no call can be checked")
        usage = self.expected(request)
        call = tokens_usd(price, usage.input_tokens, usage.output_tokens)
        if self.spent_usd + call > self.max_usd:
            raise CostCapReached(
                f"stopped at the task's cost cap (max_cost_usd ${_usd(self.max_usd)}): it has spent "
                f"${_usd(self.spent_usd)} and the next model call was expected to cost ${_usd(call)}"
            )

    def spend(self, usage: TokenUsage, price: ModelPrice | None) -> None:
        if price is not None:
            self.spent_usd += tokens_usd(price, usage.input_tokens, usage.output_tokens)
        self.last = usage


@dataclass
class CappedCalls:
    """One model's calls under a cap: what `ask_model` is given."""

    cap: CostCap
    price: ModelPrice | None

    def check(self, request: ModelRequest) -> None:
        self.cap.check(request, self.price)

    def spend(self, usage: TokenUsage) -> None:
        self.cap.spend(usage, self.price)

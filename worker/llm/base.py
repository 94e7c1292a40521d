"""The one small interface every model provider implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)


@dataclass
class ModelRequest:
    """One step's request: the rules, the whole state of the run, and the JSON
    Schema the answer must follow."""

    system: str
    user: str
    response_schema: dict[str, Any]
    screenshot_jpeg: bytes | None = None  # for vision models: the step's JPEG
    # Extra user turns appended after the state, e.g. "your last answer was not
    # valid JSON: ..." when re-asking.
    corrections: list[str] = field(default_factory=list)


@dataclass
class ModelReply:
    text: str
    usage: TokenUsage


class ModelError(Exception):
    """The model could not be reached or kept failing; the task fails with this message."""


class RetryableModelError(ModelError):
    """A transient failure (timeout, 429, 5xx, connection) worth retrying."""


class ChatModel(Protocol):
    """A provider: sends one request, returns the raw text of the answer."""

    name: str

    @property
    def vision(self) -> bool:
        """Whether it is sent the page's screenshot (read-only: a plain attribute does too)."""
        ...

    async def complete(self, request: ModelRequest) -> ModelReply: ...

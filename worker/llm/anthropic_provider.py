"""Anthropic's Messages API. The answer is asked for as a forced tool call whose
input schema is the agent protocol's schema: Claude fills tool inputs far more
reliably than it writes bare JSON, and the input comes back already parsed.

The SDK's own retries are off (`max_retries=0`): `ask.py` retries."""

from __future__ import annotations

import base64
import json
from typing import Any

import anthropic
from anthropic import AsyncAnthropic

from worker.llm.base import ModelReply, ModelRequest, TokenUsage
from worker.llm.clients import shared_client
from worker.llm.openai_provider import PLACEHOLDER_API_KEY, map_sdk_error

TOOL_NAME = "agent_output"
MAX_OUTPUT_TOKENS = 4096


class AnthropicChatModel:
    """One `llm_model` route served by Anthropic (or a server at ANTHROPIC_BASE_URL)."""

    def __init__(
        self,
        *,
        name: str,
        model: str,
        vision: bool,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        server: str = "the Anthropic API",
    ) -> None:
        self.name, self.model, self.vision = name, model, vision
        self._server = server
        self._client = shared_client(
            AsyncAnthropic, api_key=api_key or PLACEHOLDER_API_KEY, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def complete(self, request: ModelRequest) -> ModelReply:
        try:
            # The SDK types its arguments as TypedDicts; ours are plain dicts of the same JSON shape.
            message = await self._client.messages.create(  # type: ignore[call-overload]
                model=self.model,
                max_tokens=MAX_OUTPUT_TOKENS,
                system=request.system,
                messages=[{"role": "user", "content": self.user_content(request)}],
                tools=[answer_tool(request.response_schema)],
                tool_choice={"type": "tool", "name": TOOL_NAME},
            )
        except anthropic.APIError as exc:
            raise map_sdk_error(
                exc,
                timeout_type=anthropic.APITimeoutError,
                server=self._server,
                key_env="ANTHROPIC_API_KEY",
                model=self.model,
            ) from exc
        return ModelReply(text=answer_text(message.content), usage=usage_of(message.usage))

    def user_content(self, request: ModelRequest) -> list[dict[str, Any]]:
        """The state, the screenshot when the model sees images, then corrections.
        Corrections are extra blocks of the one user turn, since the API wants
        turns to alternate and we have no assistant turn to put between them."""
        blocks: list[dict[str, Any]] = [{"type": "text", "text": request.user}]
        if self.vision and request.screenshot_jpeg:
            blocks.append(image_block(request.screenshot_jpeg))
        return blocks + [{"type": "text", "text": text} for text in request.corrections]


def answer_tool(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": TOOL_NAME,
        "description": "Give your evaluation, memory, next goal and the actions to run next.",
        "input_schema": schema,
    }


def image_block(jpeg: bytes) -> dict[str, Any]:
    data = base64.b64encode(jpeg).decode("ascii")
    return {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": data}}


def answer_text(content: list[Any]) -> str:
    """The forced tool call's input as JSON; if the model wrote text instead
    (a server that ignores tools), that text, for `ask.py` to parse."""
    for block in content:
        if block.type == "tool_use":
            return json.dumps(block.input)
    return "".join(block.text for block in content if block.type == "text")


def usage_of(usage: Any) -> TokenUsage:
    # Cached prompt tokens are billed input too.
    cached = (getattr(usage, "cache_creation_input_tokens", None) or 0) + (
        getattr(usage, "cache_read_input_tokens", None) or 0
    )
    return TokenUsage(input_tokens=(usage.input_tokens or 0) + cached, output_tokens=usage.output_tokens or 0)

"""OpenAI-compatible chat completions: OpenAI itself, Gemini's OpenAI endpoint,
and local servers (vLLM, Ollama, OpenRouter) behind OPENAI_BASE_URL.

The SDK's own retries are off (`max_retries=0`): `ask.py` retries, so a task's
wait for a dead server is bounded by one set of settings."""

from __future__ import annotations

import base64
from typing import Any

import openai
from openai import AsyncOpenAI

from worker.llm.base import ModelError, ModelReply, ModelRequest, RetryableModelError, TokenUsage
from worker.llm.clients import shared_client

# Local servers need no key, but the SDK refuses to start without one.
PLACEHOLDER_API_KEY = "not-needed"
RETRYABLE_STATUSES = {408, 409, 425, 429}


class OpenAIChatModel:
    """One `llm_model` route served by an OpenAI-compatible endpoint."""

    def __init__(
        self,
        *,
        name: str,
        model: str,
        vision: bool,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        key_env: str = "OPENAI_API_KEY",
        server: str = "the OpenAI-compatible model server",
    ) -> None:
        self.name, self.model, self.vision = name, model, vision
        self._key_env, self._server = key_env, server
        self._client = shared_client(
            AsyncOpenAI, api_key=api_key or PLACEHOLDER_API_KEY, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def complete(self, request: ModelRequest) -> ModelReply:
        try:
            # The SDK types its arguments as TypedDicts; ours are plain dicts of the same JSON shape.
            response = await self._client.chat.completions.create(  # type: ignore[call-overload]
                model=self.model,
                messages=self.messages(request),
                response_format=response_format(request.response_schema),
            )
        except openai.APIError as exc:
            raise map_sdk_error(
                exc, timeout_type=openai.APITimeoutError, server=self._server, key_env=self._key_env, model=self.model
            ) from exc
        return reply_from(response)

    def messages(self, request: ModelRequest) -> list[dict[str, Any]]:
        """System rules, the state (with the screenshot when the model sees images),
        then any corrections as further user turns."""
        state: Any = request.user
        if self.vision and request.screenshot_jpeg:
            state = [{"type": "text", "text": request.user}, image_part(request.screenshot_jpeg)]
        messages = [{"role": "system", "content": request.system}, {"role": "user", "content": state}]
        return messages + [{"role": "user", "content": text} for text in request.corrections]


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    # Not strict: OpenAI's strict mode rejects the optional params and anyOf of actions.
    return {"type": "json_schema", "json_schema": {"name": "agent_output", "schema": schema, "strict": False}}


def image_part(jpeg: bytes) -> dict[str, Any]:
    data = base64.b64encode(jpeg).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}}


def reply_from(response: Any) -> ModelReply:
    if not response.choices:
        raise RetryableModelError("the model server answered with no choices")
    text = response.choices[0].message.content or ""
    usage = response.usage
    tokens = TokenUsage(usage.prompt_tokens or 0, usage.completion_tokens or 0) if usage else TokenUsage()
    return ModelReply(text=text, usage=tokens)


def map_sdk_error(
    exc: Exception, *, timeout_type: type[Exception], server: str, key_env: str, model: str
) -> ModelError:
    """Sort an SDK error (OpenAI's or Anthropic's, which share their shape) into
    transient (worth a retry) or a mistake an operator must fix, saying what."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 400:
        return status_error(status, _detail(exc), server=server, key_env=key_env, model=model)
    if isinstance(exc, timeout_type):
        return RetryableModelError(f"{server} did not answer in time")
    if status is not None:
        return RetryableModelError(f"{server} sent an answer the SDK could not read: {exc}")
    return RetryableModelError(f"could not connect to {server}: {exc}")


def status_error(status: int, detail: str, *, server: str, key_env: str, model: str) -> ModelError:
    if status in RETRYABLE_STATUSES or status >= 500:
        return RetryableModelError(f"{server} answered HTTP {status}: {detail}")
    if status in (401, 403):
        return ModelError(f"{server} rejected the API key (HTTP {status}): check {key_env}. {detail}")
    if status == 404:
        return ModelError(
            f"{server} does not know model {model!r} (HTTP 404): check the model name and the base URL. {detail}"
        )
    return ModelError(
        f"{server} rejected the request (HTTP {status}): {detail}. "
        "Check that the model supports JSON-schema answers (and images, if the route has vision on)."
    )


def _detail(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message or getattr(exc, "message", None) or exc)

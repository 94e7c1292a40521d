"""From a task's `llm_model` name to a provider, by `settings.model_routes`.

The API asks `model_unavailable_reason` before accepting a task (answering 422),
so a task never waits in the queue only to fail on a model nobody configured.

A provider's SDK is imported when a task first uses it: `anthropic` alone is ~40 MiB
and ~2 s of imports in every worker process, which a host that only calls
OpenAI-compatible servers never needs (`openai` ~15 MiB, likewise)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.model_routes import model_unavailable_reason
from shared.settings import ModelRoute, Settings
from worker.llm.base import ChatModel, ModelError

if TYPE_CHECKING:
    from worker.llm.anthropic_provider import AnthropicChatModel
    from worker.llm.openai_provider import OpenAIChatModel


def resolve_model(llm_model: str, settings: Settings) -> ChatModel:
    """A ready provider for `llm_model`; raises ModelError saying what to fix."""
    reason = model_unavailable_reason(llm_model, settings)
    if reason is not None:
        raise ModelError(reason)
    route = settings.model_routes[llm_model]
    if route.provider == "anthropic":
        return _anthropic(llm_model, route, settings)
    return _openai_compatible(llm_model, route, settings)


def _openai_compatible(name: str, route: ModelRoute, settings: Settings) -> OpenAIChatModel:
    from worker.llm.openai_provider import OpenAIChatModel

    base_url: str | None
    if route.provider == "gemini":
        base_url, api_key, key_env = settings.gemini_base_url, settings.gemini_api_key, "GEMINI_API_KEY"
    elif route.provider == "llama":
        base_url, api_key, key_env = settings.llama_base_url, settings.llama_api_key, "BROWSERQ_LLAMA_API_KEY"
    else:
        base_url, api_key, key_env = settings.openai_base_url, settings.openai_api_key, "OPENAI_API_KEY"
    return OpenAIChatModel(
        name=name,
        model=route.model,
        vision=route.vision,
        api_key=api_key,
        base_url=base_url,
        timeout=settings.model_timeout_seconds,
        key_env=key_env,
        server=_server_label(route.provider, base_url),
    )


def _anthropic(name: str, route: ModelRoute, settings: Settings) -> AnthropicChatModel:
    from worker.llm.anthropic_provider import AnthropicChatModel

    return AnthropicChatModel(
        name=name,
        model=route.model,
        vision=route.vision,
        api_key=settings.anthropic_api_key,
        base_url=settings.anthropic_base_url,
        timeout=settings.model_timeout_seconds,
        server=_server_label("anthropic", settings.anthropic_base_url),
    )


def _server_label(provider: str, base_url: str | None) -> str:
    """How errors name the server, so an operator knows which one to look at."""
    if provider == "gemini":
        return "the Gemini API"
    if base_url:
        return f"the model server at {base_url}"
    return "the Anthropic API" if provider == "anthropic" else "the OpenAI API"

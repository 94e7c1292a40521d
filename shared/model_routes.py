"""Which `llm_model` names can be served, decided from settings alone, so the
API can refuse a task (422) without importing any model SDK."""

from __future__ import annotations

from shared.model_names import CLOUD_ONLY, OTHER_VENDOR
from shared.settings import Settings

HOW_TO_CONFIGURE = {
    "openai": "set OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server such as Ollama or vLLM)",
    "anthropic": "set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL)",
    "gemini": "set GEMINI_API_KEY",
    "llama": (
        "set BROWSERQ_LLAMA_BASE_URL to an OpenAI-compatible server that serves it (Groq, Together, vLLM, Ollama), "
        "and BROWSERQ_LLAMA_API_KEY if that server needs a key"
    ),
}


def model_unavailable_reason(llm_model: str, settings: Settings) -> str | None:
    """None when `llm_model` can be used; else what is wrong and how to fix it."""
    routes = settings.model_routes
    route = routes.get(llm_model)
    if route is None and llm_model in CLOUD_ONLY:
        return _cloud_only_reason(llm_model, settings)
    if route is None and llm_model in OTHER_VENDOR:
        return (
            f"llm_model {llm_model!r} is {OTHER_VENDOR[llm_model]}'s, and browserq has no {OTHER_VENDOR[llm_model]} "
            "provider built in: route it with BROWSERQ_MODELS to an OpenAI-compatible server that serves it, e.g. "
            f'BROWSERQ_MODELS=\'{{"{llm_model}": {{"provider": "openai", "model": "{llm_model}"}}}}\' '
            "with OPENAI_BASE_URL (and OPENAI_API_KEY) set to that server"
        )
    if route is None:
        return (
            f"unknown llm_model {llm_model!r}; known models: {', '.join(sorted(routes))}. "
            "Operators add more with BROWSERQ_MODELS."
        )
    if not settings.provider_configured(route.provider):
        return f"llm_model {llm_model!r} needs the {route.provider} provider, which is not configured: " + (
            HOW_TO_CONFIGURE.get(route.provider, f"configure the {route.provider} provider")
        )
    return None


def _cloud_only_reason(llm_model: str, settings: Settings) -> str:
    if settings.default_model is None:
        return (
            f"llm_model {llm_model!r} is Browser Use Cloud's own model: set BROWSERQ_DEFAULT_MODEL to the model "
            "that serves it here (e.g. BROWSERQ_DEFAULT_MODEL=gpt-4.1), or pick a model by name"
        )
    return (
        f"llm_model {llm_model!r} runs on BROWSERQ_DEFAULT_MODEL={settings.default_model!r}, which is not a known "
        f"model; set BROWSERQ_DEFAULT_MODEL to one of: {', '.join(sorted(settings.model_routes))}"
    )

"""Every model name the official clients offer, and where browserq sends it.

The names come from Browser Use Cloud's enums as browser-use-sdk 3.12 ships them
(v2 `SupportedLLMs`, v4 `Model`) and v1's reference. Each one is one of:
- served: a provider browserq has (OpenAI, Anthropic, Gemini, an OpenAI-compatible
  Llama server) and the provider's own model name;
- Cloud's own (`browser-use-llm`, `bu-fast`...): no provider serves those, so they run on
  the model the operator names in BROWSERQ_DEFAULT_MODEL (refused until it is set);
- another vendor's (xAI, Zhipu, MiniMax, DeepSeek, Moonshot, Xiaomi): refused until the
  operator routes the name with BROWSERQ_MODELS.
Prices (USD per million tokens) only where the vendor publishes one; None shows the tokens
and `usd: null` rather than a guessed figure. This module is data: settings build the
routes from it, shared/model_routes.py explains a refusal."""

from __future__ import annotations

from typing import Literal

Provider = Literal["openai", "anthropic", "gemini", "llama"]
Price = tuple[float, float] | None

# name -> (provider, the provider's model name, price)
SERVED: dict[str, tuple[Provider, str, Price]] = {
    # OpenAI
    "gpt-4o": ("openai", "gpt-4o", (2.5, 10.0)),
    "gpt-4o-mini": ("openai", "gpt-4o-mini", (0.15, 0.6)),
    "gpt-4.1": ("openai", "gpt-4.1", (2.0, 8.0)),
    "gpt-4.1-mini": ("openai", "gpt-4.1-mini", (0.4, 1.6)),
    "o4-mini": ("openai", "o4-mini", (1.1, 4.4)),
    "o3": ("openai", "o3", (2.0, 8.0)),
    **{
        name: ("openai", name, None)
        for name in (
            "gpt-5.5",
            "gpt-5.6",
            "gpt-5.6-sol",
            "gpt-5.6-terra",
            "gpt-5.6-luna",
            "gpt-6-astra",
            "gpt-6-sol",
            "gpt-6.1-sol",
            "gpt-6-luna",
        )
    },
    # Anthropic: v4 spells some versions with a dot, Anthropic's API with a dash.
    "claude-sonnet-4-20250514": ("anthropic", "claude-sonnet-4-20250514", (3.0, 15.0)),
    "claude-3-7-sonnet-20250219": ("anthropic", "claude-3-7-sonnet-20250219", (3.0, 15.0)),
    "claude-sonnet-4-5-20250929": ("anthropic", "claude-sonnet-4-5-20250929", (3.0, 15.0)),
    "claude-opus-4-5-20251101": ("anthropic", "claude-opus-4-5-20251101", None),
    "claude-opus-4.7": ("anthropic", "claude-opus-4-7", None),
    "claude-opus-4.8": ("anthropic", "claude-opus-4-8", None),
    **{
        name: ("anthropic", name, None)
        for name in (
            "claude-opus-4-7",
            "claude-opus-4-8",
            "claude-opus-5",
            "claude-opus-5-5",
            "claude-sonnet-5",
            "claude-sonnet-5-5",
            "claude-fable-5",
        )
    },
    # Gemini (its OpenAI-compatible endpoint)
    "gemini-2.0-flash": ("gemini", "gemini-2.0-flash", (0.1, 0.4)),
    "gemini-2.0-flash-lite": ("gemini", "gemini-2.0-flash-lite", (0.075, 0.3)),
    "gemini-2.5-flash": ("gemini", "gemini-2.5-flash", (0.3, 2.5)),
    "gemini-2.5-pro": ("gemini", "gemini-2.5-pro", (1.25, 10.0)),
    # A preview name Google has retired: served by its released model.
    "gemini-2.5-flash-preview-04-17": ("gemini", "gemini-2.5-flash", (0.3, 2.5)),
    **{
        name: ("gemini", name, None)
        for name in (
            "gemini-3-pro-preview",
            "gemini-3.1-pro-preview",
            "gemini-3.1-pro",
            "gemini-3-flash-preview",
            "gemini-3-flash",
            "gemini-3.5-flash",
            "gemini-3.6-flash",
            "gemini-flash-latest",
            "gemini-flash-lite-latest",
        )
    },
    # Llama runs on an OpenAI-compatible server the operator names (BROWSERQ_LLAMA_BASE_URL);
    # its price is the operator's to set.
    "llama-4-maverick-17b-128e-instruct": ("llama", "llama-4-maverick-17b-128e-instruct", (0.0, 0.0)),
}

# Browser Use Cloud's own models: served here by BROWSERQ_DEFAULT_MODEL.
CLOUD_ONLY = ("browser-use-llm", "browser-use-2.0", "bu-2-0-mini-preview", "bu-ultrafast", "bu-fast")

# Other vendors' models, by vendor: browserq has no provider of theirs built in.
OTHER_VENDOR = {
    "grok-4.5": "xAI",
    "grok-4.6": "xAI",
    "glm-5.2": "Zhipu",
    "glm-5.3-flash": "Zhipu",
    "minimax-m3": "MiniMax",
    "deepseek-v4-flash-vision": "DeepSeek",
    "deepseek-v4.1-flash": "DeepSeek",
    "kimi-k3": "Moonshot",
    "mimo-v2.6-pro": "Xiaomi",
    "mimo-v2.6-flash": "Xiaomi",
}

"""Every model name browser-use-sdk's enums offer (v2 `SupportedLLMs`, v4 `Model`, read from
the installed SDK, so a new SDK's names are checked too) is either served by a configured
provider, or refused with a reason that names the variable to set."""

from __future__ import annotations

from typing import Any

import pytest
from browser_use_sdk.generated.v2.models import SupportedLLMs
from browser_use_sdk.generated.v4.models import Model

from shared.model_names import CLOUD_ONLY, OTHER_VENDOR
from shared.model_routes import model_unavailable_reason
from shared.settings import Settings

SDK_NAMES = sorted({m.value for m in SupportedLLMs} | {m.value for m in Model})
NO_KEYS: dict[str, Any] = {
    "OPENAI_API_KEY": None,
    "OPENAI_BASE_URL": None,
    "ANTHROPIC_API_KEY": None,
    "ANTHROPIC_BASE_URL": None,
    "GEMINI_API_KEY": None,
}
EVERY_PROVIDER = {
    **NO_KEYS,
    "OPENAI_API_KEY": "k",
    "ANTHROPIC_API_KEY": "k",
    "GEMINI_API_KEY": "k",
    "llama_base_url": "http://127.0.0.1:9/v1",
}


@pytest.mark.parametrize("name", SDK_NAMES)
def test_every_sdk_model_name_is_served_or_refused_naming_what_to_set(name: str) -> None:
    served = Settings(**EVERY_PROVIDER, default_model="gpt-4.1")
    reason = model_unavailable_reason(name, served)
    if name in OTHER_VENDOR:
        assert reason is not None and "BROWSERQ_MODELS" in reason and OTHER_VENDOR[name] in reason
    else:
        assert reason is None, reason
        route = served.model_routes[name]
        unconfigured = model_unavailable_reason(name, Settings(**NO_KEYS, default_model="gpt-4.1"))
        assert unconfigured is not None and ("_API_KEY" in unconfigured or "_BASE_URL" in unconfigured), route


@pytest.mark.parametrize("name", CLOUD_ONLY)
def test_cloud_only_names_run_on_the_operators_default_model(name: str) -> None:
    unset = model_unavailable_reason(name, Settings(**EVERY_PROVIDER))
    assert unset is not None and "BROWSERQ_DEFAULT_MODEL" in unset
    claude = Settings(**EVERY_PROVIDER, default_model="claude-sonnet-4-5-20250929")
    assert claude.model_routes[name] == claude.model_routes["claude-sonnet-4-5-20250929"]
    assert claude.price_of(name) == claude.price_of("claude-sonnet-4-5-20250929")
    unknown = model_unavailable_reason(name, Settings(**EVERY_PROVIDER, default_model="gpt-99"))
    assert unknown is not None and "BROWSERQ_DEFAULT_MODEL='gpt-99', which is not a known model" in unknown


def test_the_operators_routes_win_over_the_table() -> None:
    custom = Settings(
        **EVERY_PROVIDER,
        default_model="gpt-4.1",
        models={"grok-4.6": {"provider": "openai", "model": "grok"}, "bu-fast": {"provider": "gemini", "model": "g"}},
    )
    assert model_unavailable_reason("grok-4.6", custom) is None
    assert custom.model_routes["bu-fast"].provider == "gemini"  # BROWSERQ_MODELS over the default
    assert custom.model_routes["browser-use-llm"].model == "gpt-4.1"
    assert custom.model_routes["claude-opus-4.7"].model == "claude-opus-4-7"  # v4's dot, Anthropic's dash


def test_the_sdk_enums_hold_the_names_this_table_was_made_for() -> None:
    """A guard on the parametrisation above: it reads the SDK the lock installs."""
    assert {"browser-use-llm", "claude-sonnet-4-5-20250929", "gemini-3-pro-preview"} <= {m.value for m in SupportedLLMs}
    assert {"bu-fast", "claude-opus-4.7", "gpt-5.6"} <= {m.value for m in Model}

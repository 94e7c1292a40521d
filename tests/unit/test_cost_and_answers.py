"""The pure parts of cost and ask_human: prices from settings (shipped, overridden,
missing), what `browserq tasks` prints, what the model reads of a person's reply,
and a secret answer redacted from the moment it is added."""

from __future__ import annotations

from cli.client import cost_text
from shared.billing import task_cost
from shared.human_answer import HumanAnswer, free_name
from shared.settings import ModelPrice, ModelRoute, Settings
from worker.agent.redact import Redactor
from worker.human import describe


def settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_shipped_prices_overrides_and_models_without_a_price() -> None:
    config = settings(
        models={"local-llama": ModelRoute(provider="openai", model="llama3.1")},
        model_prices={"gpt-4o-mini": ModelPrice(input=1.0, output=3.0)},
    )
    assert task_cost("gpt-4.1", 5500, 800, config).usd == 0.0174  # $2 / $8 per million, shipped
    assert task_cost("gpt-4o-mini", 1_000_000, 1_000_000, config).usd == 4.0  # overridden
    unpriced = task_cost("local-llama", 5500, 800, config)
    assert (unpriced.input_tokens, unpriced.output_tokens, unpriced.usd) == (5500, 800, None)
    assert task_cost("no-such-model", 1, 1, config).usd is None
    assert task_cost("gpt-4.1", 0, 0, config).usd == 0.0


def test_the_cost_column() -> None:
    assert cost_text({"input_tokens": 5500, "output_tokens": 800, "usd": 0.0174}) == "$0.0174"
    assert cost_text({"input_tokens": 5500, "output_tokens": 800, "usd": None}) == "6,300 tok"
    assert cost_text(None) == "-"


def test_what_the_model_reads_of_a_reply() -> None:
    assert describe(HumanAnswer("q", "blue"), driven=False) == "The person answered: blue"
    secret = describe(HumanAnswer("q", "493817", "human_answer_2"), driven=False)
    assert "<secret>human_answer_2</secret>" in secret and "493817" not in secret
    assert describe(None, driven=False).startswith("No answer: a person resumed the task")
    assert describe(None, driven=True).startswith("A person took control of the browser")
    assert "used the page" in describe(HumanAnswer("q", "ok"), driven=True)


def test_a_secret_added_later_is_redacted_by_the_same_redactor() -> None:
    redact = Redactor({"password": "hunter2"})
    assert redact("code 493817") == "code 493817"
    redact.add("human_answer_1", "493817")
    assert redact("code 493817, pw hunter2") == "code <secret>human_answer_1</secret>, pw <secret>password</secret>"
    assert redact("/check?code=493817") == "/check?code=<secret>human_answer_1</secret>"


def test_secret_answer_names_never_take_a_used_one() -> None:
    assert free_name([]) == "human_answer_1"
    assert free_name(["password", "human_answer_1", "human_answer_3"]) == "human_answer_2"

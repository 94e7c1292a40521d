"""The action registry is the one list of actions: the protocol, the handlers, the
prompt's action list and the loop's flag sets all come from it, so a declared action
cannot be missing from any of them."""

from __future__ import annotations

import inspect

import pytest
from pydantic import Field

from worker.agent import loop, protocol
from worker.agent.actions import HANDLERS, ActionContext, ActionResult, registry
from worker.agent.prompt import SYSTEM
from worker.agent.registry import Params, Registry


def _prompt_line(name: str) -> str:
    lines = [line for line in SYSTEM.splitlines() if line.startswith(f"- {name} {{")]
    assert len(lines) == 1, f"the prompt lists {name!r} {len(lines)} times"
    return lines[0]


@pytest.mark.parametrize("name", [spec.name for spec in registry.specs()])
def test_every_action_is_in_the_prompt_with_its_parameters_and_has_a_handler(name: str) -> None:
    spec = registry.get(name)
    assert spec is not None
    line = _prompt_line(name)
    for field in spec.params.model_fields:
        assert f'"{field}": ' in line, f"{name}: parameter {field!r} is missing from its prompt line {line!r}"
    assert line.endswith(f": {spec.description}")
    assert inspect.iscoroutinefunction(HANDLERS[name])
    assert protocol.ACTIONS[name] is spec.params
    schema = protocol.response_json_schema()
    offered = [next(iter(v["properties"])) for v in schema["properties"]["action"]["items"]["anyOf"]]
    assert name in offered


def test_the_tables_hold_exactly_the_registered_actions_in_order() -> None:
    names = [spec.name for spec in registry.specs()]
    assert list(protocol.ACTIONS) == names
    assert list(HANDLERS) == names
    listed = [line.split(" ")[1] for line in SYSTEM.splitlines() if line.startswith("- ")]
    assert listed == names


def test_flags_drive_the_loop_and_the_protocol() -> None:
    assert loop.MAY_CHANGE_PAGE == {s.name for s in registry.specs() if s.may_change_page}
    assert {"click", "send_keys", "select_dropdown"} <= loop.MAY_CHANGE_PAGE  # the actions flagged before the registry
    assert "navigate" not in loop.MAY_CHANGE_PAGE
    assert protocol.FINISHING == ["done"]
    with pytest.raises(ValueError, match="'done' must be the only action of its step"):
        protocol.AgentOutput.model_validate({"action": [{"done": {"text": "x"}}, {"go_back": {}}]})


def test_a_parameter_line_shows_types_defaults_bounds_and_notes() -> None:
    assert _prompt_line("navigate") == '- navigate {"url": str, "new_tab": bool=false}: open a URL'
    assert '"index": int (optional: scroll inside that element)' in _prompt_line("scroll")
    assert '"seconds": float=1.0 (at least 0, at most 10)' in _prompt_line("wait")


class _Echo(Params):
    text: str
    times: int = Field(default=1, ge=1, le=3)
    loud: bool | None = None


def test_a_new_action_is_one_declaration() -> None:
    """What `@registry.action` gives a new action, on a registry of its own."""
    own = Registry()

    @own.action("echo", _Echo, "say it again", terminates_sequence=True, notes={"loud": "in capitals"})
    async def echo(_ctx: ActionContext, params: _Echo) -> ActionResult:
        return ActionResult(params.text * params.times)

    assert own.models() == {"echo": _Echo}
    assert own.handlers() == {"echo": echo}
    assert own.names_where("terminates_sequence") == {"echo"}
    assert own.prompt_list() == (
        '- echo {"text": str, "times": int=1 (at least 1, at most 3), "loud": bool (optional: in capitals)}'
        ": say it again"
    )
    with pytest.raises(ValueError, match="declared twice"):
        own.action("echo", _Echo, "again")(echo)
    with pytest.raises(ValueError, match="parameters it does not have"):
        own.action("other", _Echo, "x", notes={"nope": "?"})(echo)

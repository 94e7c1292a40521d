"""The agent protocol's wire shapes: what the model answers (see the spec's
`agent-protocol.md`). Each action's parameters are a small pydantic model (declared
with the action in `worker.agent.actions`); the model's answer is validated against
them before anything touches the browser."""

from __future__ import annotations

import functools
import json
from typing import Any, cast

from pydantic import BaseModel, ValidationError, model_validator

from worker.agent.actions import registry
from worker.agent.registry import Params

# The actions and their parameter models are declared once, in worker.agent.actions.
ACTIONS: dict[str, type[Params]] = registry.models()
# Actions that must be the only one of their step (nothing may follow them).
ALONE = registry.names_where("terminates_sequence")
# What the last step offers: only the actions that end the task.
FINISHING = [name for name in ACTIONS if name in registry.names_where("finishes_task")]


class Action(BaseModel):
    """One parsed action: its name and its validated parameters."""

    name: str
    params: Params

    def as_wire(self) -> dict[str, dict[str, Any]]:
        return {self.name: self.params.model_dump(exclude_none=True)}


def parse_action(raw: Any) -> Action:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(f"each action must be an object with exactly one key (the action name), got {raw!r}")
    ((name, params),) = raw.items()
    model = ACTIONS.get(name)
    if model is None:
        raise ValueError(f"unknown action {name!r}; known actions: {', '.join(ACTIONS)}")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValueError(f"parameters of {name!r} must be an object")
    try:
        return Action(name=name, params=model.model_validate(params))
    except ValidationError as exc:
        raise ValueError(f"bad parameters for {name!r}: {_short(exc)}") from None


class AgentOutput(BaseModel):
    """The model's whole answer for one step."""

    evaluation_previous_goal: str = ""
    memory: str = ""
    next_goal: str = ""
    action: list[Action]

    @model_validator(mode="before")
    @classmethod
    def _parse_actions(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("the answer must be a JSON object")
        raw = data.get("action")
        if not isinstance(raw, list) or not 1 <= len(raw) <= 5:
            raise ValueError("'action' must be a list of 1 to 5 actions")
        actions = [a if isinstance(a, Action) else parse_action(a) for a in raw]
        alone = next((a.name for a in actions if a.name in ALONE), None)
        if alone is not None and len(actions) > 1:
            raise ValueError(f"'{alone}' must be the only action of its step")
        return {**data, "action": actions}


def _short(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors())


def response_json_schema(
    action_names: list[str] | None = None, output_schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON Schema of the answer, for providers that take `response_format`
    (OpenAI) or a tool's input schema (Anthropic).

    `action_names` narrows the actions offered (the last step offers only
    `done`). `output_schema`, the task's structured output, becomes the type of
    `done`'s `data`, so a provider that enforces schemas enforces it too (the
    prompt still states it, and the answer is still validated against it).

    Asked for at every step: pydantic builds the actions' schemas in about 4 ms, so the
    document is built once per (actions, output schema) and each caller gets its own copy."""
    names = tuple(action_names or ACTIONS)
    output = json.dumps(output_schema) if output_schema is not None else None
    return cast(dict[str, Any], json.loads(_schema_text(names, output)))


@functools.lru_cache(maxsize=64)
def _schema_text(names: tuple[str, ...], output_schema_text: str | None) -> str:
    output_schema = json.loads(output_schema_text) if output_schema_text is not None else None
    variants: list[dict[str, Any]] = []
    for name in names:
        params = ACTIONS[name].model_json_schema()
        params.pop("title", None)
        variants.append(
            {
                "type": "object",
                "properties": {name: params},
                "required": [name],
                "additionalProperties": False,
            }
        )
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "evaluation_previous_goal": {"type": "string"},
            "memory": {"type": "string"},
            "next_goal": {"type": "string"},
            "action": {"type": "array", "minItems": 1, "maxItems": 5, "items": {"anyOf": variants}},
        },
        "required": ["evaluation_previous_goal", "memory", "next_goal", "action"],
        "additionalProperties": False,
    }
    if output_schema is not None and "done" in names:
        _type_done_data(schema, variants[names.index("done")]["properties"]["done"], output_schema)
    return json.dumps(schema)


def _type_done_data(root: dict[str, Any], done: dict[str, Any], output_schema: dict[str, Any]) -> None:
    """Puts the output schema in place of `done.data`'s "any". Its local definitions
    (`#/$defs/...`, `#/definitions/...`) resolve from the document's root, so they move
    there (no action's parameters have definitions of their own: tested)."""
    data = {k: v for k, v in output_schema.items() if k not in ("$defs", "definitions", "$schema")}
    for key in ("$defs", "definitions"):
        if key in output_schema:
            root[key] = output_schema[key]
    done["properties"]["data"] = data

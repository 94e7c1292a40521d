"""The agent protocol's wire shapes: what the model answers (see the spec's
`agent-protocol.md`). Each action is a small pydantic model; the model's answer
is validated against them before anything touches the browser."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Navigate(_Params):
    url: str
    new_tab: bool = False


class GoBack(_Params):
    pass


class Click(_Params):
    index: int


class Input(_Params):
    index: int
    text: str
    clear: bool = True


class SelectDropdown(_Params):
    index: int
    text: str


class SendKeys(_Params):
    keys: str


class Scroll(_Params):
    down: bool = True
    pages: float = Field(default=1.0, gt=0, le=20)
    index: int | None = None


class Wait(_Params):
    seconds: float = Field(default=1.0, ge=0, le=10)


class Switch(_Params):
    tab_id: int


class Close(_Params):
    tab_id: int


class Extract(_Params):
    query: str


class UploadFile(_Params):
    index: int
    file_name: str


class WriteFile(_Params):
    file_name: str
    content: str
    append: bool = False


class ReadFile(_Params):
    file_name: str


class Done(_Params):
    text: str | None = None
    data: Any = None
    success: bool = True


ACTIONS: dict[str, type[_Params]] = {
    "navigate": Navigate,
    "go_back": GoBack,
    "click": Click,
    "input": Input,
    "select_dropdown": SelectDropdown,
    "send_keys": SendKeys,
    "scroll": Scroll,
    "wait": Wait,
    "switch": Switch,
    "close": Close,
    "extract": Extract,
    "upload_file": UploadFile,
    "write_file": WriteFile,
    "read_file": ReadFile,
    "done": Done,
}


class Action(BaseModel):
    """One parsed action: its name and its validated parameters."""

    name: str
    params: _Params

    def as_wire(self) -> dict[str, dict[str, Any]]:
        return {self.name: self.params.model_dump(exclude_none=True)}


def parse_action(raw: Any) -> Action:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(f"each action must be an object with exactly one key (the action name), got {raw!r}")
    (name, params), = raw.items()
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
        if any(a.name == "done" for a in actions) and len(actions) > 1:
            raise ValueError("'done' must be the only action of its step")
        return {**data, "action": actions}


def _short(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )


def response_json_schema(action_names: list[str] | None = None) -> dict[str, Any]:
    """The JSON Schema of the answer, for providers that take `response_format`.

    `action_names` narrows the actions offered (the last step offers only
    `done`)."""
    names = action_names or list(ACTIONS)
    variants = []
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
    return {
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

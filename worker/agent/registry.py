"""The action registry: each action of the protocol is declared once, with its
name, parameter model, description, flags and handler (see `worker.agent.actions`).
The protocol's name -> model table, the handlers, the prompt's action list and the
loop's flag sets are all read from it, so a new action is one declaration."""

from __future__ import annotations

import json
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, Union, cast, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo

if TYPE_CHECKING:
    from worker.agent.actions import ActionContext, ActionResult


class Params(BaseModel):
    """The base of every action's parameters: unknown keys are an error the model is told of."""

    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=Params)
Handler = Callable[["ActionContext", Any], Awaitable["ActionResult"]]
TypedHandler = Callable[["ActionContext", P], Awaitable["ActionResult"]]


@dataclass(frozen=True)
class ActionSpec:
    """One action as declared."""

    name: str
    params: type[Params]
    description: str
    handler: Handler
    # May make the page itself open a tab (a click on a target=_blank link): the loop asks
    # the page before and after, and waits for the tab.
    may_change_page: bool = False
    # Nothing may follow it: it must be the only action of its step.
    terminates_sequence: bool = False
    # Ends the task: the only kind of action offered on the last step.
    finishes_task: bool = False
    # A word on a parameter, shown after it in the prompt (e.g. what leaving it out means).
    notes: dict[str, str] = field(default_factory=dict)

    def prompt_line(self) -> str:
        """The action's line in the system prompt: `name {"param": type=default, ...}: description`."""
        fields = ", ".join(
            _field_text(name, info, self.notes.get(name)) for name, info in self.params.model_fields.items()
        )
        return f"- {self.name} {{{fields}}}: {self.description}"


class Registry:
    """The actions in the order they are declared (the order the prompt lists them)."""

    def __init__(self) -> None:
        self._specs: dict[str, ActionSpec] = {}

    def action(
        self,
        name: str,
        params: type[P],
        description: str,
        *,
        may_change_page: bool = False,
        terminates_sequence: bool = False,
        finishes_task: bool = False,
        notes: dict[str, str] | None = None,
    ) -> Callable[[TypedHandler[P]], TypedHandler[P]]:
        """Declares the decorated coroutine as the handler of action `name`."""

        def register(handler: TypedHandler[P]) -> TypedHandler[P]:
            if name in self._specs:
                raise ValueError(f"action {name!r} is declared twice")
            unknown = set(notes or {}) - set(params.model_fields)
            if unknown:
                raise ValueError(f"notes of {name!r} name parameters it does not have: {sorted(unknown)}")
            self._specs[name] = ActionSpec(
                name=name,
                params=params,
                description=description,
                handler=cast(Handler, handler),
                may_change_page=may_change_page,
                terminates_sequence=terminates_sequence,
                finishes_task=finishes_task,
                notes=dict(notes or {}),
            )
            return handler

        return register

    def specs(self) -> list[ActionSpec]:
        return list(self._specs.values())

    def get(self, name: str) -> ActionSpec | None:
        return self._specs.get(name)

    def models(self) -> dict[str, type[Params]]:
        return {spec.name: spec.params for spec in self._specs.values()}

    def handlers(self) -> dict[str, Handler]:
        return {spec.name: spec.handler for spec in self._specs.values()}

    def names_where(self, flag: str) -> frozenset[str]:
        """The names of the actions whose boolean flag `flag` is set."""
        return frozenset(spec.name for spec in self._specs.values() if getattr(spec, flag))

    def prompt_list(self) -> str:
        return "\n".join(spec.prompt_line() for spec in self._specs.values())


def _field_text(name: str, info: FieldInfo, note: str | None) -> str:
    """`"name": type=default (bounds, note)`; a parameter whose default is None is shown as optional."""
    text = f'"{name}": {_type_name(info.annotation)}'
    optional = not info.is_required() and info.default is None
    if not info.is_required() and not optional:
        text += "=" + json.dumps(info.default)
    tail = ", ".join([*_bounds(info), *([note] if note else [])])
    inside = ("optional" + (f": {tail}" if tail else "")) if optional else tail
    return f"{text} ({inside})" if inside else text


def _bounds(info: FieldInfo) -> list[str]:
    found = []
    for item in info.metadata:
        if isinstance(item, Gt):
            found.append(f"more than {item.gt:g}")
        elif isinstance(item, Ge):
            found.append(f"at least {item.ge:g}")
        elif isinstance(item, Lt):
            found.append(f"less than {item.lt:g}")
        elif isinstance(item, Le):
            found.append(f"at most {item.le:g}")
    return found


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(annotation) if a is not type(None))
    if annotation in (str, int, float, bool):
        return cast(type, annotation).__name__
    if get_origin(annotation) is list and get_args(annotation):
        return f"list of {_type_name(get_args(annotation)[0])}"
    return "any JSON value"

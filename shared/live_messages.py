"""Every message of the live view, typed once for both ends.

In: what a live viewer who took control may send to the browser (a click, a
scroll, typed text, a key). The API checks each event before it forwards it
and the worker parses it again before it touches the page, so a malformed
message never reaches Playwright.

Out: what the viewer's page receives (api/templates/live.html reads `type`):
`hello` when it joins, a `frame` of the page from the worker's screencast,
the reply to a `control` request, and an `error` that says what to do."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

MAX_MESSAGE_BYTES = 8 * 1024
_KEY = re.compile(r"^((Control|Alt|Shift|Meta)\+){0,3}[A-Za-z0-9]{1,12}$")
Coordinate = Annotated[float, Field(ge=0, le=10_000)]


class _Event(BaseModel):
    """`viewer` (set by the API, never by the page) and the page's own `seq`
    let the worker report back how far each viewer's input has been handled."""

    model_config = ConfigDict(extra="ignore")
    viewer: str | None = Field(default=None, max_length=64)
    seq: int | None = Field(default=None, ge=0, le=2**53)


class Click(_Event):
    """x, y in CSS pixels of the page's viewport (the frame's width and height)."""

    kind: Literal["click"]
    x: Coordinate
    y: Coordinate
    button: Literal["left", "right", "middle"] = "left"
    clicks: int = Field(default=1, ge=1, le=3)


class Wheel(_Event):
    kind: Literal["wheel"]
    x: Coordinate
    y: Coordinate
    dx: float = Field(default=0, ge=-10_000, le=10_000)
    dy: float = Field(default=0, ge=-10_000, le=10_000)


class Text(_Event):
    kind: Literal["text"]
    text: str = Field(min_length=1, max_length=1000)


class Key(_Event):
    """A key or shortcut by Playwright's names: `Enter`, `Backspace`, `Control+a`."""

    kind: Literal["key"]
    key: str

    @field_validator("key")
    @classmethod
    def _known_shape(cls, value: str) -> str:
        if not _KEY.fullmatch(value):
            raise ValueError(f"{value[:30]!r} is not a key name like 'Enter', 'ArrowLeft' or 'Control+a'")
        return value


InputEvent = Annotated[Click | Wheel | Text | Key, Field(discriminator="kind")]
_adapter: TypeAdapter[Click | Wheel | Text | Key] = TypeAdapter(InputEvent)


class BadInput(ValueError):
    pass


def parse_input(raw: str | bytes | dict[str, Any]) -> Click | Wheel | Text | Key:
    """One event from its JSON; BadInput says what is wrong with it."""
    if isinstance(raw, (str, bytes)):
        if len(raw) > MAX_MESSAGE_BYTES:
            raise BadInput(f"an input message is at most {MAX_MESSAGE_BYTES} bytes")
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadInput(f"not JSON: {exc}") from None
    try:
        return _adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInput(f"bad input event ({where}): {first['msg']}") from None


# ---- out: to the viewer's page ---------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field fails where it is made, not in the page

    def wire(self) -> str:
        """The message as the page receives it (absent fields left out)."""
        return self.model_dump_json(exclude_none=True)


class Hello(_Out):
    type: Literal["hello"] = "hello"
    viewer: str  # the id the API gives this viewer; frames' `handled` is keyed by it


class Frame(_Out):
    """One JPEG of the tab being watched, from the worker's screencast."""

    type: Literal["frame"] = "frame"
    seq: int
    data: str  # base64 JPEG
    width: float | None = None  # CSS pixels of the viewport the frame shows
    height: float | None = None
    url: str = ""
    handled: dict[str, int] = Field(default_factory=dict)  # per viewer: the last input seq applied
    parked: bool = False  # the agent has stopped for the pause: input applies from now on

    def wire(self) -> str:
        return self.model_dump_json()


class ControlReply(_Out):
    type: Literal["control"] = "control"
    action: Literal["take", "resume"]
    status: str  # the task's status after it


class ErrorReply(_Out):
    type: Literal["error"] = "error"
    detail: str
    status: str | None = None  # the task's status, when that is why

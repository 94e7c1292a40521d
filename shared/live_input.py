"""What a live viewer who took control may send to the browser: a click, a
scroll, typed text, a key. The API checks each event before it forwards it
and the worker parses it again before it touches the page, so a malformed
message never reaches Playwright."""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

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


def parse_input(raw: str | bytes | dict) -> Click | Wheel | Text | Key:
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

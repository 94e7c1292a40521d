"""Python source for values, written the way `ruff format` would leave them, so an
exported script reads like code a person wrote (api/script_export.py)."""

from __future__ import annotations

from typing import Any


def py_str(value: str) -> str:
    """A string literal: double quotes unless the text has more of them than of single ones."""
    literal = repr(value)
    if literal.startswith("'") and '"' not in value:
        return '"' + literal[1:-1].replace("\\'", "'") + '"'
    return literal


def py_value(value: Any) -> str:
    """A JSON value (an output schema's data) as a Python literal on one line."""
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(py_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_str(str(k))}: {py_value(v)}" for k, v in value.items()) + "}"
    return py_str(str(value))

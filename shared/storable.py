"""Text a database can always store. What a model or a page produces is not
checked at any door (the API refuses such input from callers; see
api/input_guard.py), so the worker makes it storable before it writes it:
PostgreSQL text and JSON cannot hold NUL, and no database can encode a lone
UTF-16 surrogate. A NUL is dropped; a lone surrogate becomes U+FFFD."""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _replace(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else "\ufffd"


def storable_text(text: str) -> str:
    return _UNSTORABLE.sub(_replace, text)


def storable(value: Any) -> Any:
    """`value` with every string in it (keys of mappings too) made storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    return value

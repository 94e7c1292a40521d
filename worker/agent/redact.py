"""Secret values never leave the worker: every text that is stored, served,
logged or sent to the model passes through a Redactor first."""

from __future__ import annotations

from typing import Any


class Redactor:
    def __init__(self, secrets: dict[str, str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._pairs = sorted(
            ((value, f"<secret>{name}</secret>") for name, value in secrets.items() if value),
            key=lambda pair: -len(pair[0]),
        )

    def __call__(self, text: str) -> str:
        for value, placeholder in self._pairs:
            if value in text:
                text = text.replace(value, placeholder)
        return text

    def scrub(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value

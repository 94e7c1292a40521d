"""Secret values never leave the worker: every text that is stored, served,
logged or sent to the model passes through a Redactor first."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus

MIN_ENCODED_CHARS = 4  # shorter values' spaced or reversed forms would match ordinary text


def _forms(value: str) -> set[str]:
    """The ways a typed value shows up again: as is, in a URL (a GET form puts
    it in the query string), inside JSON text, and in the encodings a page most
    often echoes it in: base64 (standard and URL-safe, padded or not), hex,
    spaced out letter by letter, reversed. A page can always transform a value
    in a way no list knows (docs/security.md says so)."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    if len(value) >= MIN_ENCODED_CHARS:
        raw = value.encode()
        for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
            forms |= {encoded, encoded.rstrip("=")}
        forms |= {raw.hex(), raw.hex().upper(), " ".join(value), value[::-1]}
    return forms


class Redactor:
    def __init__(self, secrets: dict[str, str]) -> None:
        self._pairs: list[tuple[str, str]] = []
        for name, value in secrets.items():
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        """One more secret (a person's secret answer, mid-run): redacted from now on,
        by this same object, so the logs' filter covers it too."""
        if not value:
            return
        pairs = [*self._pairs, *((form, f"<secret>{name}</secret>") for form in _forms(value))]
        # Longest first, so a secret that contains another is replaced whole.
        self._pairs = sorted(pairs, key=lambda pair: -len(pair[0]))

    @property
    def values(self) -> list[str]:
        """Every form of every secret, longest first (what a screenshot masks)."""
        return [value for value, _ in self._pairs]

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


class RedactingFilter(logging.Filter):
    """Rewrites each log record's message through a Redactor: a library that
    logs a URL, an error or a request body cannot leak a secret into the log."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: the handler reports it, as it would without us
            return True
        clean = self.redactor(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


@contextmanager
def redacting_logs(redactor: Redactor) -> Iterator[None]:
    """While a task runs, every handler of the root logger redacts its secrets.
    A worker process runs one task at a time, so the filter is the task's own."""
    handlers = list(logging.getLogger().handlers)
    log_filter = RedactingFilter(redactor)
    for handler in handlers:
        handler.addFilter(log_filter)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(log_filter)

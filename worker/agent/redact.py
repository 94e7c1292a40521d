"""Secret values never leave the worker: every text that is stored, served,
logged or sent to the model passes through a Redactor first.

Two passes: the exact forms (`_forms`: the value, its URL, JSON, base64, hex,
spaced and reversed forms), then the folded forms (`worker.agent.folding`): a
form drawn upper-cased, fullwidth, with zero-width characters or any separators
between its letters, or split across elements, is still found and its whole
span replaced."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus

from worker.agent.folding import fold, folded_spans

PLACEHOLDER = re.compile(r"(<secret>[^<]*</secret>)")  # what a pass already put in: never searched again
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
        self._folded: list[tuple[str, str]] = []  # (folded form, placeholder), longest first
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
        if len(value) < MIN_ENCODED_CHARS:
            return  # a short value's letters, folded, would match ordinary words
        placeholder = f"<secret>{name}</secret>"
        folded = {f for form in _forms(value) if len(f := fold(form)) >= MIN_ENCODED_CHARS}
        self._folded = sorted([*self._folded, *((f, placeholder) for f in folded)], key=lambda pair: -len(pair[0]))

    @property
    def values(self) -> list[str]:
        """Every form of every secret, longest first (what a screenshot masks)."""
        return [value for value, _ in self._pairs]

    @property
    def folded(self) -> list[str]:
        """Every folded form of every secret, longest first (what a screenshot finds
        across the page's elements however they draw it)."""
        return list(dict.fromkeys(value for value, _ in self._folded))

    def __call__(self, text: str) -> str:
        for value, placeholder in self._pairs:
            if value in text:
                text = text.replace(value, placeholder)
        if self._folded and len(text) >= MIN_ENCODED_CHARS:
            quick = fold(text)  # most texts hold no secret: one C-speed pass says so
            if any(value in quick for value, _ in self._folded):
                text = "".join(self._hide_folded(part) for part in PLACEHOLDER.split(text))
        return text

    def _hide_folded(self, part: str) -> str:
        if PLACEHOLDER.fullmatch(part):
            return part
        needles = [value for value, _ in self._folded]
        out, last = [], 0
        for start, end, n in folded_spans(part, needles):
            out += [part[last:start], self._folded[n][1]]
            last = end
        return "".join([*out, part[last:]])

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

"""A secret's letters, however a page draws them: the folded form of a text keeps only
its letters and digits, lower-cased and compatibility-decomposed (NFKD), so
`Hunter7`, `HUNTER7`, `H-u-n-t-e-r-7`, `Hun<b>ter7</b>`, `H\u200du\u200dnter7` and
fullwidth `Ｈｕｎｔｅｒ７` all fold to `hunter7`. A secret is found in a text by
finding its folded form in the text's folded form; the origins map each folded
character back to the character of the text it came from, so the whole drawn
span (separators and zero-width characters inside it included) can be replaced.

The case rule is upper-then-lower, not `str.casefold`, because the screenshot's
script folds the rendered text in the browser with the same rule
(`toUpperCase().toLowerCase()`), and both sides must agree (`ß` -> `ss` in both)."""

from __future__ import annotations

import re
import unicodedata

_NOT_ALNUM = re.compile(r"[\W_]+")  # \W is Unicode-aware: combining marks and Cf characters are not \w
_ASCII_NOT_ALNUM = bytes(b for b in range(128) if not chr(b).isalnum())


def fold_char(ch: str) -> str:
    """What one character contributes to the folded form (often '' or itself lower-cased)."""
    if ch.isascii():
        return ch.lower() if ch.isalnum() else ""
    decomposed = unicodedata.normalize("NFKD", ch.upper().lower()).replace("ς", "σ")
    return "".join(c for c in decomposed if c.isalnum())


def fold(text: str) -> str:
    """The folded form of a whole text, at C speed (the redactor's quick look)."""
    if text.isascii():
        return text.lower().encode().translate(None, _ASCII_NOT_ALNUM).decode()
    # Whole-string, the same as character by character: NFKD only reorders the combining
    # marks dropped here, and the final-sigma rule of lower() is undone by the replace.
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKD", text.upper().lower()).replace("ς", "σ"))


def fold_with_origins(text: str) -> tuple[str, list[int]]:
    """The folded form and, per folded character, the index in `text` it came from."""
    chars: list[str] = []
    origins: list[int] = []
    for i, ch in enumerate(text):
        for c in fold_char(ch):
            chars.append(c)
            origins.append(i)
    return "".join(chars), origins


def folded_spans(text: str, needles: list[str]) -> list[tuple[int, int, int]]:
    """Where in `text` each needle (a folded form, longest first) is drawn: (start, end,
    needle index) spans of `text`, merged where they overlap (the first needle names the
    merged span). Empty when none is there."""
    folded, origins = fold_with_origins(text)
    spans: list[tuple[int, int, int]] = []
    for n, needle in enumerate(needles):
        at = folded.find(needle)
        while at >= 0:
            spans.append((origins[at], origins[at + len(needle) - 1] + 1, n))
            at = folded.find(needle, at + len(needle))
    merged: list[tuple[int, int, int]] = []
    for start, end, n in sorted(spans):
        if merged and start < merged[-1][1]:
            first = merged[-1]
            merged[-1] = (first[0], max(first[1], end), first[2])
        else:
            merged.append((start, end, n))
    return merged

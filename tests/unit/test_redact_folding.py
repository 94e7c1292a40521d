"""The redactor finds a secret however a page draws it: case, fullwidth letters,
zero-width characters and separators between its letters, and replaces the
whole drawn span; ordinary text and short values are left alone."""

from __future__ import annotations

import pytest

from worker.agent.folding import fold, fold_char, fold_with_origins, folded_spans
from worker.agent.redact import Redactor

VALUE = "Hunter7Orchid7037"
HIDDEN = "<secret>pw</secret>"


@pytest.mark.parametrize(
    "drawn",
    [
        "Hunter7Orchid7037",
        "HUNTER7ORCHID7037",
        "hunter7orchid7037",
        "H-u-n-t-e-r-7-O-r-c-h-i-d-7-0-3-7",
        "Hunter7 Orchid 7037",
        "H\u200du\u200dn\u200dt\u200de\u200dr\u200d7\u200dOrchid7037",
        "Hun\u00adter7\u2060Orchid\ufeff7037",  # soft hyphen, word joiner, BOM
        "Ｈｕｎｔｅｒ７Ｏｒｃｈｉｄ７０３７",  # fullwidth
        "Hunter7\nOrchid7037",  # split across two elements' text
        "7307dihcrO7retnuH",  # reversed, then folded
        "7-3-0-7-D-I-H-C-R-O-7-R-E-T-N-U-H",
    ],
)
def test_every_drawn_form_is_replaced_whole(drawn: str) -> None:
    redact = Redactor({"pw": VALUE})
    assert redact(f"before {drawn} after") == f"before {HIDDEN} after"


def test_two_occurrences_and_other_secrets_each_get_their_name() -> None:
    redact = Redactor({"pw": VALUE, "pin": "Q-9981-Z"})
    text = "a HUNTER7ORCHID7037 b q9981z c hunter7-orchid7037"
    assert redact(text) == "a <secret>pw</secret> b <secret>pin</secret> c <secret>pw</secret>"


def test_ordinary_text_and_short_values_are_left_alone() -> None:
    redact = Redactor({"pw": VALUE, "pin": "7-1"})  # "7-1" folds to 2 characters: exact forms only
    text = "Hunter 7 went to the orchid show; 71 people, 7 1 stars."
    assert redact(text) == text
    assert redact("pin 7-1") == "pin <secret>pin</secret>"


def test_placeholders_already_put_in_are_not_searched_again() -> None:
    redact = Redactor({"secret": "secret-value", "s2": "secretsecret"})
    assert redact("x secret-value y") == "x <secret>secret</secret> y"


def test_folding_keeps_the_origins_of_each_character() -> None:
    text = "ａ-Ｂ\u200dc ß"
    folded, origins = fold_with_origins(text)
    assert folded == fold(text) == "abcss"
    assert origins == [0, 2, 4, 6, 6]
    assert fold_char("\u200d") == "" and fold_char("Σ") == "σ"
    assert folded_spans("xx A-B-C yy abc", ["abc"]) == [(3, 8, 0), (12, 15, 0)]

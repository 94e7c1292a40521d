"""How read_value writes a select's options: one a line, the chosen ones marked, only those
containing the filter (any case), with how many of how many it shows."""

from __future__ import annotations

from worker.browser.choices import MAX_VALUE_CHARS, _options_text


def test_options_are_marked_and_filtered() -> None:
    options = [["Sweden", True], ["Spain", False], ["Switzerland", False]]
    assert _options_text(options, None) == ("3 of 3 options ([x] = selected):\n[x] Sweden\n[ ] Spain\n[ ] Switzerland")
    assert _options_text(options, "sw") == (
        "2 of 3 options containing 'sw' ([x] = selected):\n[x] Sweden\n[ ] Switzerland"
    )
    assert _options_text(options, "atlantis") == "0 of 3 options containing 'atlantis' ([x] = selected):\n"


def test_a_huge_list_is_cut_and_says_so() -> None:
    text = _options_text([[f"Option {i}", False] for i in range(5000)], None)
    assert text.endswith("\n… (more: filter by text)") and len(text) < MAX_VALUE_CHARS + 200

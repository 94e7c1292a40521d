"""The widgets of issue 17 through the API: one task fills native date and
time fields from the formats a person writes, picks the second of three
suggestions of a jQuery UI autocomplete, and chooses an option of a `<div>`
dropdown that only listeners make clickable. The scripted model acts only on
what each prompt shows it: every index is found by the text of an element
line in the prompt the agent sent (`@text:`), as a real model would."""

from __future__ import annotations

import re

import pytest

from tests.support import widgets
from tests.support.agent_runs import element_lines, finished_run, history_of
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def test_dates_autocomplete_and_div_dropdown(stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    dates = site.add_page("widgets-dates", widgets.DATES)
    languages = site.add_page("widgets-autocomplete", widgets.AUTOCOMPLETE)
    options = site.add_page("widgets-dropdowns", widgets.DROPDOWNS)
    key = model.script(
        [
            answer("Open the booking form", {"navigate": {"url": dates}}),
            answer(
                "Enter the date and times as the task writes them, then book",
                {"input": {"index": "@text:type=date", "text": "12/03/2014"}},
                {"input": {"index": "@text:type=time", "text": "2:30 PM"}},
                {"input": {"index": "@text:type=datetime-local", "text": "Dec 4, 2014 at 9:15 am"}},
                {"click": {"index": "@text:Book it"}},
            ),
            answer("Open the languages page", {"navigate": {"url": languages}}),
            answer(
                "Type the start of the language", {"input": {"index": "@text:Start typing a language", "text": "j"}}
            ),
            answer("Pick Java among the suggestions", {"click": {"index": "@text:Java"}}),
            answer("Open the order page", {"navigate": {"url": options}}),
            answer("Open the size menu", {"click": {"index": "@text:Choose a size"}}),
            answer("Pick Medium", {"click": {"index": "@text:<div>Medium</div>"}}),
            answer("Finish", {"done": {"text": "booked, picked and chosen"}}),
        ]
    )
    task, p = finished_run(stack, model, key, requests=9)

    # Dates: the fields took the values they need, and the server received them.
    booked = history_of(p[2])
    assert "Typed '12/03/2014' into [" in booked and "set the date field to 2014-12-03" in booked
    assert "reading it as 3 December 2014 (month first, as the page's locale en-US writes dates)" in booked
    assert "set the time field to 14:30" in booked and "set the datetime-local field to 2014-12-04T09:15" in booked
    assert "arrival = 2014-12-03" in p[2] and "at = 14:30" in p[2] and "pickup = 2014-12-04T09:15" in p[2]

    # Autocomplete: the step after the typing lists the three suggestions, one line each, new.
    suggestions = [line for line in element_lines(p[4]) if line.startswith("<li")]
    assert suggestions == ["<li>Jade</li>", "<li>Java</li>", "<li>Julia</li>"]
    assert re.search(r"^\*\[\d+\]<li>Java</li>$", p[4], re.MULTILINE)
    assert not any(line.startswith("<ul") for line in element_lines(p[4]))
    assert "Picked Java" in p[5] and "value=Java" in p[5]

    # Dropdown of divs: closed, one line for its current value; open, one line per option.
    assert "<div>Choose a size</div>" in element_lines(p[6]) and "<div>Medium</div>" not in element_lines(p[6])
    assert ["<div>Small</div>", "<div>Medium</div>", "<div>Large</div>"] == [
        line for line in element_lines(p[7]) if line in ("<div>Small</div>", "<div>Medium</div>", "<div>Large</div>")
    ]
    assert "Size: Medium" in p[8]
    assert task["output"] == "booked, picked and chosen"

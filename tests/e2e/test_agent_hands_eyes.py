"""The widgets of issue 25 through the API, driven by the scripted model on pages of our own
(tests/support/widgets.py): drag (an HTML5 sortable list, a slider moved by an offset), hover
(a menu three levels deep), typing as key presses (a terminal), a slow autocomplete picked twice,
then controls without text, labelled checkboxes, a long value and a multiple select. Every index
is found by the text of an element line in the prompt the agent sent (`@text:`), as a real model
would, so each check also says the state showed the element. One task per test, several checks
each, on the PostgreSQL stack alone (the widgets do not depend on how it is deployed)."""

from __future__ import annotations

import re

import pytest

from tests.support import widgets
from tests.support.agent_runs import element_lines, finished_run, history_of, page_of
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import SiteServer
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def test_drag_hover_keys_and_suggestions(pg_stack: Stack, model: ScriptedModelServer, site: SiteServer) -> None:
    hands = site.add_page("widgets-hands", widgets.HANDS)
    search = site.add_page("widgets-search", widgets.SEARCH)
    key = model.script(
        [
            answer("Open the page", {"navigate": {"url": hands}}),
            answer(
                "Put Delta first, set the level to 50, open the menu",
                {"drag": {"index": "@text:>Delta<", "to_index": "@text:>Alpha<"}},
                {"drag": {"index": "@text:class=knob", "x": 140}},
                {"hover": {"index": "@text:>Ola<"}},
            ),
            answer("Open the second level", {"hover": {"index": "@text:>Tracey<"}}),
            answer("Pick Ursa", {"click": {"index": "@text:>Ursa<"}}),
            answer(
                "Run a command in the terminal",
                {"click": {"index": "@text:user$"}},
                {"send_keys": {"text": "rm file", "keys": "Enter"}},
            ),
            answer("Open the search", {"navigate": {"url": search}}),
            answer("Search", {"input": {"index": "@text:Search a language", "text": "ja"}}),
            answer(
                "Pick JavaScript, search again",
                {"click": {"index": "@text:>JavaScript<"}},
                {"input": {"index": "@text:Search a language", "text": "py"}},
            ),
            answer("Pick PyPy", {"click": {"index": "@text:>PyPy<"}}),
            answer("Finish", {"done": {"text": "dragged, hovered, typed, picked"}}),
        ]
    )
    task, p = finished_run(pg_stack, model, key, requests=10)

    # Drag: the item dropped onto another moved before it; the knob moved by the offset.
    assert "Order: Delta, Alpha, Bravo, Charlie" in p[2] and "Level 50" in p[2]
    dragged = history_of(p[2])
    assert re.search(r"Dragged \[\d+\] onto \[\d+\]", dragged)
    assert re.search(r"Dragged \[\d+\] by \(140, 0\) px", dragged)
    # Hover: each level's items are listed, new, the step after the pointer rests on their parent.
    assert "<a href=/p/widgets-hands#pia>Pia</a>" not in element_lines(p[1])
    assert re.search(r"^\*\[\d+\]<a href=/p/widgets-hands#tracey>Tracey</a>$", page_of(p[2]), re.MULTILINE)
    assert "<a href=/p/widgets-hands#ursa>Ursa</a>" not in element_lines(p[2])
    assert re.search(r"^\*\[\d+\]<a href=/p/widgets-hands#ursa>Ursa</a>$", page_of(p[3]), re.MULTILINE)
    assert "Hovering over [" in history_of(p[3]) and "Picked Ola > Tracey > Ursa" in p[4]
    # Keys: the whole command in one action, the terminal read it as keys.
    assert "Typed 'rm file' as keys, then Pressed Enter" in history_of(p[5])
    assert "ran: rm file" in page_of(p[5]) and "user$ █" in page_of(p[5])

    # Suggestions from a slow server: listed the step after each typing, in order, new.
    for prompt, words in ((p[7], ["Jade", "Java", "JavaScript"]), (p[8], ["Python", "PyPy"])):
        listed = [line for line in element_lines(prompt) if line.startswith("<li")]
        assert listed == [f"<li role=option>{w}</li>" for w in words], prompt
        assert re.search(rf"^\*\[\d+\]<li role=option>{words[-1]}</li>$", page_of(prompt), re.MULTILINE)
    assert "Picked JavaScript" in page_of(p[8]) and "Picked PyPy" in page_of(p[9])
    assert task["output"] == "dragged, hovered, typed, picked"


def test_controls_without_text_labels_values_and_choices(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    eyes = site.add_page("widgets-eyes", widgets.EYES)
    key = model.script(
        [
            answer("Open the page", {"navigate": {"url": eyes}}),
            answer(
                "Click the controls that have no text",
                {"click": {"index": "@text:class=reply"}},
                {"click": {"index": "@text:icon=trash-can"}},
                {"click": {"index": "@text:Star this mail"}},
                {"click": {"index": "@text:icon-sun"}},
                {"click": {"index": '@text:colour="blue'}},
            ),
            answer(
                "Pick a slice, two countries, a category; read the story and the options",
                {"click": {"index": "@text:Bananas"}},
                {"select_options": {"index": "@text:name=countries", "options": ["Gibraltar", "sweden"]}},
                {"click": {"index": "@text:label=Hardware"}},
                {"read_value": {"index": "@text:<textarea"}},
                {"read_value": {"index": "@text:name=countries", "filter": "SW"}},
            ),
            answer(
                "Clear the countries, ask for one that is not there",
                {"select_options": {"index": "@text:name=countries", "options": []}},
                {"select_options": {"index": "@text:name=countries", "options": ["Atlantis"]}},
                {"select_options": {"index": "@text:aria-label=Fruit", "options": ["kiwi", "Plum"]}},
                {"click": {"index": "@text:class=more"}},
            ),
            answer("Finish", {"done": {"text": "seen"}}),
        ]
    )
    _, p = finished_run(pg_stack, model, key, requests=5)
    lines = element_lines(p[1])

    # Named by what a person sees: the icon's file, its class, an SVG title, a colour; each clickable.
    assert "<span icon=reply class=reply></span>" in lines and "<span icon=heart class=like></span>" in lines
    assert "<button type=submit icon=trash-can></button>" in lines
    assert '<button type=submit title="Star this mail"></button>' in lines
    assert [line for line in lines if line.startswith("<li class=icon-")] == [
        "<li class=icon-cloud></li>",
        "<li class=icon-sun></li>",
        "<li class=icon-moon></li>",
    ]
    assert [line for line in lines if "class=swatch" in line] == [
        f'<span class=swatch colour="{name} {hex_}"></span>' for hex_, name in widgets.SWATCHES.items()
    ]
    assert [line for line in lines if line.startswith("<path")] == [
        '<path title="Apples 40%"></path>',
        '<path title="Bananas 35%"></path>',
        '<path title="Cherries 25%"></path>',
    ]
    clicked = "Clicked: feed reply; toolbar trash; toolbar star; menu icon icon-sun; colour rgb(30, 136, 229)"
    assert clicked in p[2] and f"{clicked}; slice Bananas 35%" in p[3]

    # Each checkbox carries its own label; the group's line does not lump them.
    assert "<div aria-label=Categories role=group></div>" in lines
    boxes = [line for line in lines if line.startswith("<input type=checkbox")]
    assert boxes == [
        '<input type=checkbox value=1 label="Field Reports" checked />',
        "<input type=checkbox value=1 label=Hardware />",
        "<input type=checkbox value=1 label=Releases />",
        "<input type=checkbox value=1 label=Uncategorized />",
    ]
    assert "<input type=checkbox value=1 label=Hardware checked />" in element_lines(p[3])

    # A long value says it is cut, and read_value reads it whole.
    assert f"value-length={len(widgets.LONG_TEXT)}" in next(line for line in lines if line.startswith("<textarea"))
    assert widgets.LAST_WORD not in page_of(p[1])
    read = history_of(p[3])
    assert f"({len(widgets.LONG_TEXT)} characters) {widgets.LONG_TEXT}" in read

    # A multiple select: its options within the budget, how many more, the chosen ones marked.
    select = next(line for line in lines if line.startswith("<select"))
    assert select.startswith("<select name=countries multiple>Western Sahara | Gibraltar | Panama")
    more = re.search(r"… (\d+) more: read_value lists them", select)
    assert more and "Sweden" not in select
    listed = select.split(">", 1)[1].count(" | ")
    assert listed + int(more.group(1)) == len(widgets.COUNTRIES)
    assert "Chosen in [" in read and "'Gibraltar', 'Sweden'" in read
    assert "Chosen: Gibraltar and Sweden" in p[3]
    chosen = next(line for line in element_lines(p[3]) if line.startswith("<select"))
    assert "| [x] Gibraltar |" in chosen and "[x] Sweden" in chosen and "Sweden" not in select
    assert "2 of 50 options containing 'SW' ([x] = selected):\n[x] Sweden\n[ ] Switzerland" in read
    # Cleared in one action; a name it does not have is an error that says how to find one.
    cleared = history_of(p[4])
    assert "Chosen in [" in cleared and ": nothing" in cleared and "Chosen: none" in p[4]
    assert "it has no option 'Atlantis' (read_value lists its options, filter to find one)" in cleared
    # A multi-selectable listbox: its options clicked where their state must change.
    assert "<li role=option aria-selected=false>Kiwi</li>" in lines
    assert "Chosen in [" in cleared and "'Kiwi', 'Plum'" in cleared
    fruit = [line for line in element_lines(p[4]) if line.startswith("<li role=option")]
    assert fruit == [
        "<li role=option aria-selected=false>Mango</li>",
        "<li role=option aria-selected=true>Kiwi</li>",
        "<li role=option aria-selected=true>Plum</li>",
    ]
    # A jQuery handler delegated from the document makes its textless target listed and clickable.
    assert "<span icon=dots class=more></span>" in lines and "slice Bananas 35%; feed more" in p[4]

"""The `input` action on native date and time fields in a real Chromium: text
typed the way a person writes it sets the value the field needs, with the
events real typing fires, and an ambiguous date follows the page's locale
(`navigator.language`, set here through the context's locale)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_page_state import Env
from worker.agent import protocol as p
from worker.agent.actions import ActionContext, ActionResult, run_action
from worker.browser.page_state import capture_page_state
from worker.browser.session import BrowserSession

FIELDS = """<!doctype html><html><head><title>Booking</title></head><body>
<label>Arrival date <input type=date id=date></label>
<label>Arrival time <input type=time id=time></label>
<label>Pick-up <input type=datetime-local id=dtl></label>
<label>Card expiry <input type=month id=month></label>
<label>Holiday week <input type=week id=week></label>
<label>Locked date <input type=date id=locked readonly></label>
<label>Name <input type=text id=name></label>
<p id=seen>nothing</p>
<script>
window.events = [];
for (const el of document.querySelectorAll('input')) {
  for (const kind of ['input', 'change']) el.addEventListener(kind, (e) => {
    window.events.push(kind + ':' + e.target.id + '=' + e.target.value);
    if (kind === 'change') document.getElementById('seen').textContent = 'saw ' + e.target.id + ' ' + e.target.value;
  });
}
</script></body></html>"""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("date-pages")
    (root / "fields.html").write_text(FIELDS, encoding="utf-8")
    e = Env(root)
    yield e
    e.close()


def type_into(env: Env, tmp: Path, entries: list[tuple[str, str]], locale: str = "en-US") -> dict[str, Any]:
    """Open the page in a context of `locale`, run `input` for each (field label, text) as the model
    would (by the index its line has in the page state), and return the results, values and events."""

    async def go() -> dict[str, Any]:
        context = await env.browser.new_context(locale=locale, viewport={"width": 1280, "height": 720})
        try:
            session = BrowserSession(context, tmp / "downloads")
            page = await session.start()
            await page.goto(f"{env.base}/fields.html")
            results: list[ActionResult] = []
            for label, text in entries:
                state = await capture_page_state(page)
                index = field_after(state.text, label)
                ctx = ActionContext(session, state, {"day": "2014-12-03"}, tmp)
                results.append(await run_action(ctx, p.parse_action({"input": {"index": index, "text": text}})))
            values = await page.evaluate(
                "Object.fromEntries([...document.querySelectorAll('input')].map(e => [e.id, e.value]))"
            )
            return {
                "results": results,
                "values": values,
                "events": await page.evaluate("window.events"),
                "state": (await capture_page_state(page)).text,
            }
        finally:
            await context.close()

    return env.run(go())


def field_after(text: str, label: str) -> int:
    """The index of the first element line after the text line `label` (a field's wrapping label)."""
    lines = text.split("\n")
    start = next(n for n, line in enumerate(lines) if line == label)
    return int(next(m[1] for line in lines[start:] if (m := re.match(r"\*?\[(\d+)\]", line))))


@pytest.mark.parametrize(
    "text", ["12/03/2014", "2014-12-03", "Dec 3, 2014", "3 December 2014", "Wednesday, December 3rd, 2014", "12.3.14"]
)
def test_a_date_field_takes_a_date_as_a_person_writes_it(env: Env, tmp_path: Path, text: str) -> None:
    out = type_into(env, tmp_path, [("Arrival date", text)])
    result = out["results"][0]
    assert result.error is None, result.error
    assert "set the date field to 2014-12-03" in result.text
    assert out["values"]["date"] == "2014-12-03"
    assert out["events"] == ["input:date=2014-12-03", "change:date=2014-12-03"]
    assert "value=2014-12-03" in out["state"]  # the next step shows the field filled


@pytest.mark.parametrize(("text", "value"), [("2:30 PM", "14:30"), ("14:30", "14:30"), ("9:05 am", "09:05")])
def test_a_time_field(env: Env, tmp_path: Path, text: str, value: str) -> None:
    out = type_into(env, tmp_path, [("Arrival time", text)])
    assert out["results"][0].error is None and out["values"]["time"] == value
    assert out["events"] == [f"input:time={value}", f"change:time={value}"]


@pytest.mark.parametrize(
    "text", ["12/03/2014 2:30 PM", "Dec 3, 2014 at 2:30 pm", "2014-12-03T14:30", "3 December 2014 14:30"]
)
def test_a_datetime_local_field(env: Env, tmp_path: Path, text: str) -> None:
    out = type_into(env, tmp_path, [("Pick-up", text)])
    assert out["results"][0].error is None, out["results"][0].error
    assert out["values"]["dtl"] == "2014-12-03T14:30"
    assert out["events"][-1] == "change:dtl=2014-12-03T14:30"


def test_month_and_week_fields(env: Env, tmp_path: Path) -> None:
    out = type_into(env, tmp_path, [("Card expiry", "December 2014"), ("Holiday week", "Dec 3, 2014")])
    assert [r.error for r in out["results"]] == [None, None]
    assert out["values"]["month"] == "2014-12" and out["values"]["week"] == "2014-W49"


def test_an_ambiguous_date_follows_the_pages_locale_and_the_result_says_so(env: Env, tmp_path: Path) -> None:
    us = type_into(env, tmp_path, [("Arrival date", "03/04/2014")], locale="en-US")
    gb = type_into(env, tmp_path, [("Arrival date", "03/04/2014")], locale="en-GB")
    de = type_into(env, tmp_path, [("Arrival date", "03/04/2014")], locale="de-DE")
    assert us["values"]["date"] == "2014-03-04" and gb["values"]["date"] == "2014-04-03"
    assert de["values"]["date"] == "2014-04-03"
    assert "reading it as 4 March 2014 (month first, as the page's locale en-US writes dates)" in us["results"][0].text
    assert "reading it as 3 April 2014 (day first, as the page's locale en-GB writes dates)" in gb["results"][0].text
    # Unambiguous in every locale: the same value, and no reading to report.
    gb13 = type_into(env, tmp_path, [("Arrival date", "12/13/2014")], locale="en-GB")
    assert gb13["values"]["date"] == "2014-12-13" and "reading" not in gb13["results"][0].text


def test_what_the_field_cannot_take_is_an_error_that_says_what_to_type(env: Env, tmp_path: Path) -> None:
    out = type_into(
        env,
        tmp_path,
        [("Arrival date", "31/02/2014"), ("Locked date", "2014-12-03"), ("Arrival time", "half past two")],
    )
    errors = [r.error or "" for r in out["results"]]
    assert "does not read as a date" in errors[0] and "type it like 2014-12-03" in errors[0]
    assert "read-only" in errors[1]
    assert "type it like 14:30 or 2:30 PM" in errors[2]
    assert out["values"]["date"] == "" and out["values"]["locked"] == "" and out["events"] == []


def test_a_secret_date_is_set_but_never_shown(env: Env, tmp_path: Path) -> None:
    out = type_into(env, tmp_path, [("Arrival date", "<secret>day</secret>")])
    assert out["values"]["date"] == "2014-12-03"
    assert out["results"][0].text == "Typed secret 'day' into [1]: set the date field"


def test_text_fields_are_typed_as_before(env: Env, tmp_path: Path) -> None:
    out = type_into(env, tmp_path, [("Name", "12/03/2014")])
    assert out["values"]["name"] == "12/03/2014" and out["results"][0].text.startswith("Typed '12/03/2014'")

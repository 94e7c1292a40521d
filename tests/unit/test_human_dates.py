"""What a person types into date and time fields, read as the value the field
takes (worker/browser/human_dates.py)."""

from __future__ import annotations

import pytest

from worker.browser.human_dates import DateOrder, DateTextError, FieldValue, field_value

US = DateOrder("en-US", month_first=True)
GB = DateOrder("en-GB", month_first=False)


@pytest.mark.parametrize(
    "text",
    [
        "12/03/2014",
        "12-03-2014",
        "12.03.2014",
        "2014-12-03",
        "2014/12/03",
        "Dec 3, 2014",
        "December 3, 2014",
        "December 3rd, 2014",
        "3 December 2014",
        "3rd of December 2014",
        "3 Dec 2014",
        "Wednesday, December 3, 2014",
        "Wed 3 Dec 2014",
        "dec. 3 2014",
        "3-Dec-2014",
        "2014 Dec 3",
        "12/3/14",
        "  Dec 3 , 2014 ",
    ],
)
def test_common_dates_in_a_month_first_locale(text: str) -> None:
    assert field_value("date", text, US).value == "2014-12-03"


@pytest.mark.parametrize("text", ["03/12/2014", "3.12.2014", "3 December 2014", "2014-12-03", "Dec 3, 2014"])
def test_common_dates_in_a_day_first_locale(text: str) -> None:
    assert field_value("date", text, GB).value == "2014-12-03"


def test_an_ambiguous_date_is_read_in_the_locales_order_and_says_so() -> None:
    us = field_value("date", "03/04/2014", US)
    gb = field_value("date", "03/04/2014", GB)
    assert us == FieldValue("2014-03-04", "4 March 2014 (month first, as the page's locale en-US writes dates)")
    assert gb == FieldValue("2014-04-03", "3 April 2014 (day first, as the page's locale en-GB writes dates)")


@pytest.mark.parametrize("text", ["13/03/2014", "03/13/2014", "2014-03-13", "March 13, 2014", "05/05/2014"])
def test_an_unambiguous_numeric_date_names_no_reading(text: str) -> None:
    for order in (US, GB):
        result = field_value("date", text, order)
        assert result.reading is None
        assert result.value in ("2014-03-13", "2014-05-05")


def test_two_digit_years_follow_strptime() -> None:
    assert field_value("date", "12/3/68", US).value == "2068-12-03"
    assert field_value("date", "12/3/69", US).value == "1969-12-03"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2:30 PM", "14:30"),
        ("2:30pm", "14:30"),
        ("2:30 p.m.", "14:30"),
        ("2 PM", "14:00"),
        ("12 AM", "00:00"),
        ("12:15 pm", "12:15"),
        ("14:30", "14:30"),
        ("9:05", "09:05"),
        ("14:30:15", "14:30:15"),
        ("14:30:00", "14:30"),
        ("14h30", "14:30"),
        ("noon", "12:00"),
        ("midnight", "00:00"),
        ("7.45 am", "07:45"),
    ],
)
def test_times(text: str, value: str) -> None:
    assert field_value("time", text).value == value


@pytest.mark.parametrize(
    "text",
    [
        "12/03/2014 2:30 PM",
        "2014-12-03T14:30",
        "2014-12-03 14:30",
        "Dec 3, 2014 at 2:30 PM",
        "December 3, 2014, 2:30 pm",
        "3 December 2014 14:30",
        "Wednesday, December 3, 2014 2:30pm",
    ],
)
def test_dates_and_times(text: str) -> None:
    assert field_value("datetime-local", text, US).value == "2014-12-03T14:30"


def test_an_ambiguous_date_and_time_says_its_reading() -> None:
    result = field_value("datetime-local", "03/04/2014 9:00", GB)
    assert result.value == "2014-04-03T09:00" and result.reading and "3 April 2014" in result.reading


@pytest.mark.parametrize("text", ["December 2014", "Dec 2014", "2014-12", "12/2014", "2014 December", "Dec 3, 2014"])
def test_months(text: str) -> None:
    assert field_value("month", text, US).value == "2014-12"


@pytest.mark.parametrize(
    "text",
    [
        "2014-W49",
        "2014 W49",
        "week 49 2014",
        "Week 49, 2014",
        "W49 2014",
        "week 49 of 2014",
        "Dec 3, 2014",
        "2014-12-01",
    ],
)
def test_weeks(text: str) -> None:
    assert field_value("week", text, US).value == "2014-W49"


def test_a_date_in_the_first_iso_week_of_the_next_year() -> None:
    assert field_value("week", "2014-12-29").value == "2015-W01"


@pytest.mark.parametrize(
    ("kind", "text", "says"),
    [
        ("date", "31/02/2014", "day is out of range"),
        ("date", "Dec 3", "needs its year"),
        ("date", "next tuesday", "type it like 2014-12-03"),
        ("date", "", "needs a value"),
        ("time", "25:00", "hours are 0 to 23"),
        ("time", "13 PM", "1 to 12"),
        ("time", "half past two", "type it like 14:30"),
        ("datetime-local", "Dec 3, 2014", "followed by a time"),
        ("week", "2014-W54", "weeks 1 to 52"),
        ("month", "13/2014", "month must be in 1..12"),
    ],
)
def test_what_cannot_be_read_says_what_to_type(kind: str, text: str, says: str) -> None:
    with pytest.raises(DateTextError, match=says):
        field_value(kind, text, US)


def test_a_value_already_in_the_fields_format_is_kept() -> None:
    assert field_value("date", "2014-12-03").value == "2014-12-03"
    assert field_value("time", "14:30").value == "14:30"
    assert field_value("datetime-local", "2014-12-03T14:30").value == "2014-12-03T14:30"
    assert field_value("month", "2014-12").value == "2014-12"
    assert field_value("week", "2014-W49").value == "2014-W49"

"""What a person types into a date or time field, turned into the value the
field takes (`<input type=date>` needs `2014-12-03`, `time` needs `14:30`, ...).

Why: a task says "enter 12/03/2014"; the model types it as written, and a
native date field ignores any text that is not its own ISO-like format. This
module reads the common orders and separators (`12/03/2014`, `2014-12-03`,
`Dec 3, 2014`, `3 December 2014`, `2:30 PM`, ...) without touching a browser,
so it is tested on its own. Month names are English (the model writes in the
task's words, and month names are the one part of a date a locale cannot
settle); a numeric date whose day and month could be swapped (03/04/2014) is
read in the order of the page's locale, and the result says which reading it
used so the model can correct it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

FIELD_TYPES = ("date", "time", "datetime-local", "month", "week")
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_MONTH_NUMBER = {name.lower()[:n]: i + 1 for i, name in enumerate(MONTHS) for n in (3, len(name))} | {"sept": 9}
_WEEKDAYS = re.compile(r"\b(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day|sday|nesday|rsday|urday)?\b\.?")
_ORDINAL = re.compile(r"\b(\d{1,2})(st|nd|rd|th)\b")
_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_NUMERIC_DATE = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})")
_TIME = re.compile(
    r"(?:(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2})(?:[:.](?P<s>\d{2}(?:\.\d{1,3})?))?)?\s*(?P<ap>[ap])\.?\s*m?\.?"
    r"|(?P<h24>\d{1,2})[:.h](?P<m24>\d{2})(?:[:.](?P<s24>\d{2}(?:\.\d{1,3})?))?|(?P<word>noon|midnight))"
)
# A time at the end of a date-and-time text, and what may stand between them.
_TRAILING_TIME = re.compile(r"(?:^|[\st,@]|\bat\b)\s*(" + _TIME.pattern + r")$")
_ISO_WEEK = re.compile(r"(\d{4})\s*-?\s*w(?:eek)?\s*(\d{1,2})")
_WEEK_FIRST = re.compile(r"w(?:eek)?\s*(\d{1,2})\s*(?:of\s+)?(\d{4})")
_MONTH_NUMERIC = re.compile(r"(\d{4})[-/.](\d{1,2})|(\d{1,2})[-/.](\d{4})")


class DateTextError(ValueError):
    """The text does not read as a value of the field; the message says what to type."""


@dataclass(frozen=True)
class FieldValue:
    value: str  # what the field takes, e.g. "2014-12-03"
    reading: str | None = None  # how an ambiguous text was read, e.g. "4 March 2014 (month first, ...)"


@dataclass(frozen=True)
class DateOrder:
    """How the page's locale writes a numeric date; decides only ambiguous texts."""

    locale: str = "en-US"
    month_first: bool = True


def field_value(kind: str, text: str, order: DateOrder = DateOrder()) -> FieldValue:
    """The value an `<input type=kind>` needs for `text`; raises DateTextError."""
    clean = _normalise(text)
    if not clean:
        raise DateTextError(f"the {kind} field needs a value; {_EXAMPLES[kind]}")
    try:
        if kind == "date":
            day, reading = _date(clean, order)
            return FieldValue(day.isoformat(), reading)
        if kind == "time":
            return FieldValue(_time(clean))
        if kind == "datetime-local":
            return _datetime(clean, order)
        if kind == "month":
            return _month(clean, order)
        if kind == "week":
            return _week(clean, order)
    except DateTextError as exc:
        raise DateTextError(f"{text.strip()!r} does not read as a {_NOUN[kind]} ({exc}); {_EXAMPLES[kind]}") from None
    raise ValueError(f"not a date or time field type: {kind!r}")


_NOUN = {"date": "date", "time": "time", "datetime-local": "date and time", "month": "month", "week": "week"}
_EXAMPLES = {
    "date": "type it like 2014-12-03, 12/03/2014 or 3 December 2014",
    "time": "type it like 14:30 or 2:30 PM",
    "datetime-local": "type it like 2014-12-03 14:30 or Dec 3, 2014 2:30 PM",
    "month": "type it like 2014-12, 12/2014 or December 2014",
    "week": "type it like 2014-W49, week 49 2014, or a date in that week",
}


def _normalise(text: str) -> str:
    """Lower case, no weekday names, ordinals or filler words, single spaces."""
    s = text.strip().lower().replace("\u00a0", " ")
    s = _WEEKDAYS.sub(" ", s)
    s = _ORDINAL.sub(r"\1", s)
    s = re.sub(r"\b(the|of)\b", " ", s)
    s = re.sub(r"\s*,\s*", " ", s)
    return re.sub(r"\s+", " ", s).strip(" ,")


# -- dates -------------------------------------------------------------------------


def _date(s: str, order: DateOrder) -> tuple[dt.date, str | None]:
    if m := _ISO_DATE.fullmatch(s):
        return _make_date(int(m[1]), int(m[2]), int(m[3])), None
    if m := _NUMERIC_DATE.fullmatch(s):
        return _numeric_date(int(m[1]), int(m[2]), _year(m[3]), order)
    return _named_date(s), None


def _numeric_date(a: int, b: int, year: int, order: DateOrder) -> tuple[dt.date, str | None]:
    """`a/b/year`: a number above 12 can only be the day; otherwise the locale decides."""
    if a > 12 or b > 12 or a == b:
        day, month = (a, b) if a > 12 or (a == b) else (b, a)
        return _make_date(year, month, day), None
    month, day = (a, b) if order.month_first else (b, a)
    date = _make_date(year, month, day)
    first = "month" if order.month_first else "day"
    return date, f"{_spoken(date)} ({first} first, as the page's locale {order.locale} writes dates)"


def _named_date(s: str) -> dt.date:
    """A date with its month as a word: `dec 3 2014`, `3 december 2014`, `2014 dec 3`."""
    words = s.replace("/", " ").replace("-", " ").replace(".", " ").split()
    months = [_MONTH_NUMBER[w] for w in words if w in _MONTH_NUMBER]
    numbers = [w for w in words if w.isdigit()]
    if len(months) != 1 or len(words) != len(numbers) + 1:
        raise DateTextError("expected a day, a month and a year")
    if len(numbers) != 2:
        raise DateTextError("a date needs its year" if len(numbers) == 1 else "expected a day, a month and a year")
    four = [n for n in numbers if len(n) == 4]
    if len(four) == 1:
        year, day = int(four[0]), int(next(n for n in numbers if n is not four[0]))
    else:
        day, year = int(numbers[0]), _year(numbers[1])
    return _make_date(year, months[0], day)


def _year(digits: str) -> int:
    """Two-digit years the way strptime's %y reads them: 69-99 are 19xx, 00-68 are 20xx."""
    n = int(digits)
    if len(digits) == 2:
        return n + (1900 if n >= 69 else 2000)
    return n


def _make_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise DateTextError(str(exc)) from None


def _spoken(date: dt.date) -> str:
    return f"{date.day} {MONTHS[date.month - 1]} {date.year}"


# -- times, months, weeks ------------------------------------------------------------


def _time(s: str) -> str:
    m = _TIME.fullmatch(s)
    if m is None:
        raise DateTextError("expected hours and minutes")
    if m["word"]:
        return "12:00" if m["word"] == "noon" else "00:00"
    if m["ap"]:
        hour, minute, second = int(m["h"]), int(m["m"] or 0), m["s"]
        if not 1 <= hour <= 12:
            raise DateTextError("with AM or PM the hour is 1 to 12")
        hour = hour % 12 + (12 if m["ap"] == "p" else 0)
    else:
        hour, minute, second = int(m["h24"]), int(m["m24"]), m["s24"]
    if hour > 23 or minute > 59 or (second is not None and float(second) >= 60):
        raise DateTextError("hours are 0 to 23, minutes and seconds 0 to 59")
    return f"{hour:02d}:{minute:02d}" + (f":{second}" if second is not None and float(second) else "")


def _datetime(s: str, order: DateOrder) -> FieldValue:
    m = _TRAILING_TIME.search(s)
    if m is None:
        raise DateTextError("expected a date followed by a time")
    date_part = s[: m.start()].strip(" ,@t")
    date_part = re.sub(r"\s+at$", "", date_part)
    day, reading = _date(date_part, order)
    return FieldValue(f"{day.isoformat()}T{_time(m.group(1).strip())}", reading)


def _month(s: str, order: DateOrder) -> FieldValue:
    if m := _MONTH_NUMERIC.fullmatch(s):
        year, month = (int(m[1]), int(m[2])) if m[1] else (int(m[4]), int(m[3]))
        return FieldValue(_make_date(year, month, 1).isoformat()[:7])
    words = s.replace("/", " ").replace("-", " ").split()
    if len(words) == 2 and sum(w in _MONTH_NUMBER for w in words) == 1:
        name, year_text = words if words[0] in _MONTH_NUMBER else words[::-1]
        if re.fullmatch(r"\d{4}|\d{2}", year_text):
            return FieldValue(f"{_year(year_text):04d}-{_MONTH_NUMBER[name]:02d}")
    day, reading = _date(s, order)  # a whole date: its month
    return FieldValue(day.isoformat()[:7], reading)


def _week(s: str, order: DateOrder) -> FieldValue:
    if (m := _ISO_WEEK.fullmatch(s)) or (m := _WEEK_FIRST.fullmatch(s)):
        year, week = (int(m[1]), int(m[2])) if m.re is _ISO_WEEK else (int(m[2]), int(m[1]))
        last = dt.date(year, 12, 28).isocalendar()[1]  # 28 December is always in the year's last week
        if not 1 <= week <= last:
            raise DateTextError(f"{year} has weeks 1 to {last}")
        return FieldValue(f"{year:04d}-W{week:02d}")
    day, reading = _date(s, order)  # a date: the ISO week it falls in
    year, week, _ = day.isocalendar()
    return FieldValue(f"{year:04d}-W{week:02d}", reading)

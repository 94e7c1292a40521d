"""When a scheduled task runs: every `interval_minutes` from `start_at`, or at
the times a cron expression names (in UTC), from `start_at` until `end_at`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import CroniterError, croniter

TICK = timedelta(microseconds=1)
# The range a schedule's times may take: wide enough for any real plan, narrow
# enough that adding a year or a step to it never leaves what datetime can hold.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Timing:
    schedule_type: str  # interval or cron
    interval_minutes: int | None
    cron_expression: str | None
    start_at: datetime
    end_at: datetime


def utc(value: datetime) -> datetime:
    """Naive datetimes (SQLite, or a client that sent no offset) are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def cron_error(expression: str) -> str | None:
    """Why the expression is not a usable cron expression, or None."""
    if len(expression.split()) != 5:
        return "cron_expression must have 5 fields (minute hour day month weekday), e.g. '0 9 * * 1-5'"
    if not croniter.is_valid(expression):
        return f"{expression!r} is not a valid cron expression, e.g. '*/15 * * * *' or '0 9 * * 1-5'"
    try:
        croniter(expression, datetime.now(UTC)).get_next(datetime)
    except CroniterError:
        return f"{expression!r} never fires (it names a date that does not exist, such as 31 February)"
    return None


def bounded(value: datetime, name: str) -> datetime:
    """`value` in UTC, refused (ValueError, so a 422) outside EARLIEST..LATEST,
    including values whose offset takes them past what datetime can hold."""
    try:
        moment = utc(value)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise ValueError(f"{name} must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)")
    return moment


def first_at_or_after(timing: Timing, moment: datetime) -> datetime | None:
    """The first run at or after `moment` (never before start_at); None past end_at.
    An interval schedule first runs one interval after start_at, as in the official
    example (start_at 09:00, every 60 minutes: next_run_at 10:00)."""
    start, moment = utc(timing.start_at), max(utc(moment), utc(timing.start_at))
    if timing.schedule_type == "interval":
        step = timedelta(minutes=timing.interval_minutes or 1)
        at = start + step * max(1, math.ceil((moment - start) / step))
    else:
        it = croniter(timing.cron_expression, moment - timedelta(seconds=1))
        try:
            at = utc(it.get_next(datetime))
            while at < moment:
                at = utc(it.get_next(datetime))
        except CroniterError:
            return None  # no date left that the expression names: the schedule is over
    return at if at <= utc(timing.end_at) else None


def next_after(timing: Timing, moment: datetime) -> datetime | None:
    """The first run strictly after `moment`: runs missed while nothing was
    dispatching are not made up, the schedule carries on from now."""
    return first_at_or_after(timing, utc(moment) + TICK)

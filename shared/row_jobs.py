"""One row at a time, for every maintenance job: a row that fails is logged,
counted in /metrics (browserq_maintenance_row_failures_total{job}) and set
aside by the job, and the pass goes on with the next row. One tenant's bad row
(a value the database refuses, a secret that no longer decrypts) can then
never stop the schedules, webhooks or tasks of everyone else.

A database that is down is not a bad row: OperationalError ends the pass (the
maintenance loop retries it), so no row is set aside for an outage."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from prometheus_client import Counter
from sqlalchemy.exc import OperationalError

from shared.storable import storable_text

log = logging.getLogger("browserq.maintenance")
T = TypeVar("T")

ROW_FAILURES = Counter(
    "browserq_maintenance_row_failures",
    "Rows a maintenance job could not handle and set aside, by job (schedules, webhooks, retention, capped, reaper).",
    ["job"],
)


def isolated(
    job: str, row_id: str, handle: Callable[[], T], set_aside: Callable[[Exception], object] | None = None
) -> T | None:
    """`handle()`'s result; None when it failed, after logging, counting and
    `set_aside(error)` (itself guarded: a failure there is logged too)."""
    try:
        return handle()
    except OperationalError:
        raise
    except Exception as exc:
        ROW_FAILURES.labels(job).inc()
        log.exception("maintenance job %s: row %s failed; set aside, the pass goes on", job, row_id)
        if set_aside is not None:
            try:
                set_aside(exc)
            except OperationalError:
                raise
            except Exception:
                log.exception("maintenance job %s: row %s could not be set aside either", job, row_id)
        return None


def reason_of(exc: Exception) -> str:
    """A short, owner-safe reason: the exception's kind and first line, no SQL or parameters."""
    orig = getattr(exc, "orig", None)
    source = orig if isinstance(orig, Exception) else exc
    first = storable_text((str(source).strip().splitlines() or [""])[0][:200])
    return f"{type(source).__name__}: {first}" if first else type(source).__name__

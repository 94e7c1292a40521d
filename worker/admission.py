"""Admission: a worker host takes no new task while it is short of memory or CPU,
instead of slowing every task it already runs. Checked by the task body before it
claims (worker.tasks); what it decides is shown in /metrics."""

from __future__ import annotations

import threading
import time

import psutil  # type: ignore[import-untyped]

from shared import metrics
from shared.settings import Settings

CPU_WINDOW_SECONDS = 1.0  # the CPU figure is the busy share over at least this long
POLL_SECONDS = 0.5

_cpu_lock = threading.Lock()
_cpu_at = 0.0
_cpu_percent = 0.0


def _cpu_busy() -> float:
    """Percent of all CPUs busy over the last window (psutil counts from its previous call)."""
    global _cpu_at, _cpu_percent
    with _cpu_lock:
        now = time.monotonic()
        if _cpu_at == 0.0:
            psutil.cpu_percent(interval=None)  # the first call only starts the count
            time.sleep(0.2)
            _cpu_percent, _cpu_at = psutil.cpu_percent(interval=None), time.monotonic()
        elif now - _cpu_at >= CPU_WINDOW_SECONDS:
            _cpu_percent, _cpu_at = psutil.cpu_percent(interval=None), now
        return _cpu_percent


def short_of(settings: Settings) -> str | None:
    """Why the host cannot take a task now ("memory" or "cpu"), or None."""
    if psutil.virtual_memory().available < settings.admission_min_free_memory_mb * 1024 * 1024:
        return "memory"
    if settings.admission_max_cpu_percent < 100 and _cpu_busy() > settings.admission_max_cpu_percent:
        return "cpu"
    return None


def wait_for_room(settings: Settings) -> str | None:
    """Wait (at most admission_wait_seconds) until the host has room; None once it has,
    else what it is still short of."""
    deadline = time.monotonic() + settings.admission_wait_seconds
    while True:
        reason = short_of(settings)
        metrics.admission(reason)
        if reason is None or time.monotonic() >= deadline:
            return reason
        time.sleep(POLL_SECONDS)

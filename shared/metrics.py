"""Prometheus metrics. Two kinds:

- Counted where it happens, in worker processes (step durations, model latency,
  tokens, browser launches). Prefork workers are many processes, so values go
  through prometheus_client's multiprocess mode: each process writes its own
  files in PROMETHEUS_MULTIPROC_DIR (the CLI points it at `<data_dir>/metrics`
  before this module is imported: shared/metrics_folder.py) and whoever serves /metrics adds them up.
- Read on scrape from the source of truth (tasks by status from the database,
  queue depth from the broker), so they are right whichever process asks and
  cost one GROUP BY and one LLEN a scrape.

Without PROMETHEUS_MULTIPROC_DIR (tests calling code in-process) the counters
are ordinary in-process values and /metrics serves those."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterator
from typing import TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from shared.metrics_folder import metrics_folder

log = logging.getLogger("browserq.metrics")
T = TypeVar("T")

STEP_DURATION = Histogram(
    "browserq_step_duration_seconds",
    "Wall time of one agent step: observe the page, ask the model, act.",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300),
)
MODEL_LATENCY = Histogram(
    "browserq_model_latency_seconds",
    "Time of one model request (each retry counts), by llm name and outcome (ok or error).",
    ["model", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
TOKENS = Counter("browserq_model_tokens", "Model tokens used by recorded steps, by kind (input or output).", ["kind"])
BROWSER_LAUNCHES = Counter(
    "browserq_browser_launches",
    "Chromium launches by worker processes: reason=start (first of a process) or restart (the browser had died).",
    ["reason"],
)
# Admission (worker/admission.py): 0 while any worker process of the host holds new tasks back.
ADMITTING = Gauge(
    "browserq_worker_admitting",
    "1 when this host's workers take new tasks; 0 while short of memory or CPU.",
    multiprocess_mode="livemin",
)
ADMISSION_HELD = Counter(
    "browserq_worker_admission_held",
    "Checks that held a new task back, by what the host was short of (memory or cpu).",
    ["reason"],
)
TASKS_RUNNING = Gauge(
    "browserq_worker_tasks_running", "Tasks running in this host's worker processes.", multiprocess_mode="livesum"
)
CONTENT_TYPE = CONTENT_TYPE_LATEST


# ------------------------------------------------------------------ recording


async def time_model_call(awaitable: Awaitable[T], model: str) -> T:
    """Awaits one model request, observing how long it took."""
    started = time.perf_counter()
    outcome = "error"
    try:
        result = await awaitable
        outcome = "ok"
        return result
    except asyncio.CancelledError:
        outcome = "cancelled"  # the task was stopped while the model thought
        raise
    finally:
        MODEL_LATENCY.labels(model=model, outcome=outcome).observe(time.perf_counter() - started)


def step_recorded(duration_ms: int, input_tokens: int, output_tokens: int) -> None:
    STEP_DURATION.observe(duration_ms / 1000)
    TOKENS.labels(kind="input").inc(max(0, input_tokens))
    TOKENS.labels(kind="output").inc(max(0, output_tokens))


def browser_launched(restart: bool) -> None:
    BROWSER_LAUNCHES.labels(reason="restart" if restart else "start").inc()


def admission(short_of: str | None) -> None:
    ADMITTING.set(0 if short_of else 1)
    if short_of:
        ADMISSION_HELD.labels(reason=short_of).inc()


# ------------------------------------------------------------------ serving


class ServiceCollector(Collector):
    """Tasks by status and queue depth, read when scraped."""

    def collect(self) -> Iterator[Metric]:
        from shared.browser_kinds import KINDS, queue_for
        from shared.service_state import queue_depth, task_counts

        tasks = GaugeMetricFamily("browserq_tasks", "Tasks in the database by status.", labels=["status"])
        try:
            for status, count in task_counts().items():
                tasks.add_metric([status], count)
            yield tasks
        except Exception as exc:  # an unreachable database must not break the other metrics
            log.warning("metrics: cannot count tasks: %s", exc)
        yield from _spend()
        depths: dict[str, int] = {}
        for kind in KINDS:  # one connection each; a broker that is down is asked once
            depth = queue_depth(queue_for(kind))
            if depth is None:
                break
            depths[kind] = depth
        up = len(depths) == len(KINDS)
        yield GaugeMetricFamily("browserq_broker_up", "1 when the broker answered this scrape.", value=float(up))
        if up:
            queued = GaugeMetricFamily(
                "browserq_queue_depth", "Messages waiting in the task queue of each kind of browser.", labels=["kind"]
            )
            for kind, depth in depths.items():
                queued.add_metric([kind], depth)
            yield queued


def _spend() -> Iterator[Metric]:
    """Tokens and USD by llm_model over all tasks (USD only for models with a price)."""
    from shared.billing import tokens_usd
    from shared.service_state import spend_by_model
    from shared.settings import get_settings

    tokens = GaugeMetricFamily(
        "browserq_task_tokens",
        "Model tokens used by the tasks in the database, by llm_model and kind (input or output).",
        labels=["model", "kind"],
    )
    cost = GaugeMetricFamily(
        "browserq_task_cost_usd",
        "USD the tasks in the database cost in model tokens, by llm_model (models with a price only).",
        labels=["model"],
    )
    try:
        rows = spend_by_model()
    except Exception as exc:  # an unreachable database must not break the other metrics
        log.warning("metrics: cannot sum tokens: %s", exc)
        return
    settings = get_settings()
    for model, input_tokens, output_tokens in rows:
        tokens.add_metric([model, "input"], input_tokens)
        tokens.add_metric([model, "output"], output_tokens)
        if (price := settings.price_of(model)) is not None:
            cost.add_metric([model], float(tokens_usd(price, input_tokens, output_tokens)))
    yield tokens
    yield cost


def worker_registry() -> CollectorRegistry:
    """What this machine's processes counted (all of them in multiprocess mode)."""
    folder = metrics_folder()
    if folder is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))
    return registry


def render(*, service: bool) -> bytes:
    """The exposition text; `service` adds the database and broker gauges (the API's /metrics)."""
    registry = worker_registry()
    if not service:
        return generate_latest(registry)
    scrape = CollectorRegistry()
    for collector in (_Each(registry), ServiceCollector()):
        scrape.register(collector)
    return generate_latest(scrape)


class _Each(Collector):
    """Another registry's metrics, so one scrape can add more collectors to them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def serve_worker_metrics(port: int) -> None:
    """A worker machine's own /metrics (a background thread of the worker's main process)."""
    from prometheus_client import start_http_server

    start_http_server(port, registry=worker_registry())
    log.info("worker metrics on http://0.0.0.0:%d/metrics", port)

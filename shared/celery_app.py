"""The one Celery app. The API enqueues by task name and never imports the
worker; the worker registers the task bodies (see `worker.tasks`)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

from shared.browser_kinds import queue_for
from shared.settings import Settings, get_settings

# `filesystem://` is kombu's filesystem transport with whole-file writes and a
# reader that survives a bad file (shared.filesystem_broker says why).
TRANSPORT_ALIASES["filesystem"] = "shared.filesystem_broker:Transport"

RUN_TASK = "browserq.run_task"
# Run-task messages travel on their browser kind's queue (shared.browser_kinds.queue_for);
# this default queue carries nothing browserq sends itself.
QUEUE = "browserq"
# Webhook deliveries have their own queue, so a deliverer can run apart from the browsers.
DELIVER_WEBHOOK = "browserq.deliver_webhook"
WEBHOOK_QUEUE = "browserq.webhooks"


def broker_options(settings: Settings) -> dict[str, Any]:
    url = settings.resolved_broker_url
    if url.startswith("filesystem"):
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.1,
        }
    # Longer than the longest run, pause included, so Redis never redelivers a
    # task that is still running (the DB lease fences it anyway).
    longest = settings.task_timeout_seconds + settings.max_pause_seconds + 600
    # A socket timeout so a broker that accepts connections but never answers
    # (hung, or a half-open path) cannot block the worker forever; it then counts
    # the connection as lost, which cancels its tasks and hands them back.
    return {"visibility_timeout": int(longest), "socket_timeout": 10, "socket_connect_timeout": 10}


# Publishing gives up fast: run-task has already stored the task, and the
# maintenance loop sends what could not be sent. Without these a hung Redis
# blocks the request forever (measured); with them it fails in about two seconds.
PUBLISH_TRANSPORT_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 1}


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery(
        "browserq", broker=settings.resolved_broker_url, set_as_current=True, include=["shared.webhooks.delivery"]
    )  # registered in every worker, no browser needed
    app.conf.update(
        broker_transport_options=broker_options(settings),
        broker_connection_retry_on_startup=True,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        task_acks_late=True,
        # A pool child lost mid-task (SIGKILL, OOM) sends the message again, at most
        # BrowserTask.max_retries times; reject_on_worker_lost would loop forever.
        task_reject_on_worker_lost=False,
        task_retry_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_proc_alive_timeout=60,
        # No recycling: a pool process hosts many running tasks, which a recycle would hand back.
        worker_max_tasks_per_child=None,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_soft_shutdown_timeout=10,
        worker_hijack_root_logger=False,
        # Task events, so Flower sees what runs where (`browserq flower`); cheap when nobody listens.
        worker_send_task_events=True,
        task_send_sent_event=True,
        # The hard limit is only a backstop: deadlines live in the event loop.
        task_time_limit=int(settings.task_timeout_seconds + settings.max_pause_seconds + 300),
        accept_content=["json"],
        task_serializer="json",
        broker_pool_limit=4,
        broker_connection_timeout=2,
        # run-task stores the task first; if the broker is down the dispatcher
        # sends the message later, so publishing must not hang the request.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
    )
    return app


celery_app = make_celery()


def enqueue_run(task_id: str, browser_kind: str) -> None:
    """Send "run task X" to the queue of its kind of browser; raises within about two
    seconds when the broker is down or hung."""
    with celery_app.connection_for_write(transport_options=PUBLISH_TRANSPORT_OPTIONS) as connection:
        celery_app.send_task(RUN_TASK, args=[task_id], queue=queue_for(browser_kind), connection=connection)

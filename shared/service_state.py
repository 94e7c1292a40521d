"""Readings of the service as a whole, taken from the source of truth when
asked (for /metrics): tasks by status and tokens by model from the database,
messages waiting in the broker's queue."""

from __future__ import annotations

import logging

from celery import Celery
from sqlalchemy import func
from sqlmodel import select

from shared.db import session_scope
from shared.models import Task, TaskStatus

log = logging.getLogger("browserq.metrics")


def task_counts() -> dict[str, int]:
    """Every status with its count (0 included), from one GROUP BY."""
    with session_scope() as session:
        rows = session.exec(select(Task.status, func.count()).group_by(Task.status)).all()
    counts = {status.value: 0 for status in TaskStatus}
    for status, count in rows:
        counts[TaskStatus(status).value] = int(count)
    return counts


def spend_by_model() -> list[tuple[str, int, int]]:
    """(llm_model, input tokens, output tokens) over every task, from one GROUP BY."""
    from shared.billing import spend_by_model as rows

    with session_scope() as session:
        return rows(session)


def queue_depth(queue: str | None = None, app: Celery | None = None) -> int | None:
    """Messages waiting in the queue (Redis: LLEN of its lists; filesystem
    broker: its message files); None when the broker cannot be reached."""
    from kombu.exceptions import ChannelError

    from shared.celery_app import QUEUE, celery_app

    try:
        with (app or celery_app).connection_for_read() as conn:
            conn.connect()  # one attempt: a scrape must not wait on a broker that is down
            channel = conn.channel()
            try:
                return int(channel.queue_declare(queue=queue or QUEUE, passive=True).message_count)
            except ChannelError:
                return 0  # Redis: a queue with no message has no key
            finally:
                channel.close()
    except Exception as exc:
        log.warning("metrics: the broker did not answer: %s", exc)
        return None

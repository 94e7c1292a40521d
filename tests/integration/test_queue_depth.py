"""Queue depth for /metrics, read from a real Redis and a real filesystem
broker folder after sending real Celery messages."""

from __future__ import annotations

import uuid
from pathlib import Path

import redis

from shared.celery_app import make_celery
from shared.service_state import queue_depth
from shared.settings import Settings
from tests.support.stack import REDIS_URL

# Database 0: the test stacks pick 1..15 and flush theirs; a unique queue name keeps this one apart.
REDIS_DB0 = f"{REDIS_URL}/0"


def _send(settings: Settings, queue: str, count: int) -> None:
    app = make_celery(settings)
    for _ in range(count):
        app.send_task("browserq.nothing", args=["x"], queue=queue)


def test_redis_queue_depth_is_the_length_of_its_list() -> None:
    settings = Settings(broker_url=REDIS_DB0)
    queue = f"bq-depth-{uuid.uuid4().hex[:8]}"
    try:
        assert queue_depth(queue, make_celery(settings)) == 0  # no key yet
        _send(settings, queue, 3)
        assert queue_depth(queue, make_celery(settings)) == 3
    finally:
        redis.Redis.from_url(REDIS_DB0).delete(queue)


def test_filesystem_queue_depth_counts_its_message_files(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, broker_url=None)
    _send(settings, "browserq", 2)
    _send(settings, "other", 1)
    assert queue_depth("browserq", make_celery(settings)) == 2


def test_an_unreachable_broker_reads_as_none() -> None:
    settings = Settings(broker_url="redis://127.0.0.1:1/0")
    assert queue_depth("browserq", make_celery(settings)) is None

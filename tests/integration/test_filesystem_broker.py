"""The embedded broker's files (shared.filesystem_broker), through kombu's own
Connection/SimpleQueue API on real folders: a file that is not a message is set
aside instead of stopping the consumer, and messages written by another process
while a consumer polls always arrive whole (kombu's stock transport fails both:
its reader can take a file its writer has created but not yet written)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection

import shared.celery_app  # noqa: F401  (makes filesystem:// the safe transport)


def _connection(folder: Path) -> Connection:
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return Connection(
        "filesystem://",
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "broker"


def test_the_filesystem_url_is_the_safe_transport(broker: Path) -> None:
    with _connection(broker) as conn:
        assert type(conn.transport).__module__ == "shared.filesystem_broker"


def test_a_file_that_is_no_message_is_set_aside_and_the_next_one_arrives(broker: Path) -> None:
    with _connection(broker) as conn:
        queue = conn.SimpleQueue("jobs")
        (broker / "queue" / "0_00000000-0000-0000-0000-000000000000.jobs.msg").write_bytes(b"")  # created, not written
        (broker / "queue" / "00_00000000-0000-0000-0000-000000000001.jobs.msg").write_bytes(b'{"trunc')
        queue.put({"n": 1})
        message = queue.get(timeout=5)
        assert message.payload == {"n": 1}
        message.ack()
        queue.close()
    assert sorted(p.name.split("_")[0] for p in (broker / "corrupt").iterdir()) == ["0", "00"]  # read first
    assert not list((broker / "queue").glob("*.msg"))


def _publish(folder: str, count: int, size: int) -> None:
    with _connection(Path(folder)) as conn:
        queue = conn.SimpleQueue("jobs")
        for n in range(count):
            queue.put({"n": n, "pad": "x" * size})
        queue.close()


def test_messages_written_while_a_consumer_polls_arrive_whole(broker: Path) -> None:
    count, size = 300, 256 * 1024  # big enough that a write takes a while
    _connection(broker).release()
    writer = multiprocessing.get_context("spawn").Process(target=_publish, args=(str(broker), count, size))
    seen: list[int] = []
    with _connection(broker) as conn:
        queue = conn.SimpleQueue("jobs")
        writer.start()
        deadline = time.monotonic() + 60
        while len(seen) < count and time.monotonic() < deadline:
            try:
                message = queue.get(timeout=0.001)  # polled as fast as it goes
            except queue.Empty:
                continue
            seen.append(message.payload["n"])
            message.ack()
        queue.close()
    writer.join(30)
    assert writer.exitcode == 0
    assert sorted(seen) == list(range(count))
    assert not (broker / "corrupt").exists()

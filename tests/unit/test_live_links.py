"""Live links (signed, expiring, one task only), share links, the live
viewer's input events, and the file carrier of the live bus on a real folder."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.public_links import (
    live_expiry,
    live_over,
    live_token_valid,
    live_url,
    new_share_token,
    share_url,
    sign_live_token,
)
from shared import live_bus
from shared.live_bus import FileLiveBus
from shared.live_messages import BadInput, Click, Key, Text, parse_input
from shared.models import Task, TaskStatus
from shared.settings import Settings

KEY = "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDE="


def settings(**kw: object) -> Settings:
    return Settings(secret_key=KEY, public_url="http://api.example", **kw)  # type: ignore[arg-type]


def task(**kw: object) -> Task:
    return Task(id="task-1", owner_id="o", task="t", **kw)  # type: ignore[arg-type]


def test_a_live_token_opens_its_own_task_until_it_expires() -> None:
    now = time.time()
    token = sign_live_token("task-1", int(now) + 60, KEY)
    assert live_token_valid("task-1", token, KEY, now)
    assert not live_token_valid("task-2", token, KEY, now)  # another task's token
    assert not live_token_valid("task-1", token, KEY, now + 61)  # expired
    assert not live_token_valid("task-1", token, "another-server-key", now)
    expires, sig = token.split(".")
    assert not live_token_valid("task-1", f"{int(expires) + 3600}.{sig}", KEY, now)  # extended by hand
    for junk in ("", ".", "abc", "12.", "x.y", "9" * 40 + ".a"):
        assert not live_token_valid("task-1", junk, KEY, now)


def test_the_live_link_is_stable_while_running_and_dies_after_the_grace_period() -> None:
    s = settings(live_view_grace_seconds=600)
    running = task(status=TaskStatus.running)
    assert live_url(running, s) == live_url(running, s)
    url = live_url(running, s)
    assert url and url.startswith("http://api.example/live/task-1?token=")
    assert live_expiry(running, s) % 3600 == 0 and live_expiry(running, s) > time.time() + s.task_timeout_seconds

    ended = datetime.now(UTC) - timedelta(seconds=30)
    finished = task(status=TaskStatus.finished, finished_at=ended)
    assert not live_over(finished, s)
    assert live_expiry(finished, s) == int(ended.timestamp() + 600)
    long_ago = task(status=TaskStatus.failed, finished_at=ended.replace(tzinfo=None) - timedelta(hours=1))
    assert live_over(long_ago, s) and live_url(long_ago, s) is None
    assert live_url(running, Settings(secret_key=None)) is None  # nothing to sign with


def test_share_links_exist_only_when_asked_for() -> None:
    token = new_share_token()
    assert len(token) >= 32 and token != new_share_token()
    assert share_url(task(enable_public_share=True, public_share_token=token), settings()) == (
        f"http://api.example/share/{token}"
    )
    assert share_url(task(enable_public_share=False, public_share_token=token), settings()) is None
    assert share_url(task(enable_public_share=True), settings()) is None


def test_input_events_are_checked_before_they_reach_a_browser() -> None:
    assert parse_input('{"kind": "click", "x": 10, "y": 20.5}') == Click(kind="click", x=10, y=20.5)
    assert isinstance(parse_input({"kind": "text", "text": "hello"}), Text)
    assert parse_input({"kind": "key", "key": "Control+a", "viewer": "v1", "seq": 3}).seq == 3
    assert isinstance(parse_input({"kind": "key", "key": "ArrowLeft"}), Key)
    for bad in (
        "not json",
        {"kind": "drag"},
        {"kind": "click", "x": -1, "y": 0},
        {"kind": "text", "text": ""},
        {"kind": "key", "key": "Enter'); alert(1"},
        "x" * 10_000,
    ):
        with pytest.raises(BadInput):
            parse_input(bad)  # type: ignore[arg-type]


def test_the_file_carrier_announces_viewers_and_passes_frames_and_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        bus = FileLiveBus(tmp_path)
        assert not await bus.watched("t1")
        await bus.watch("t1", "v1")
        assert await bus.watched("t1") and not await bus.watched("t2")

        frames = bus.frames("t1")
        await bus.publish_frame("t1", '{"seq": 1}')
        assert await asyncio.wait_for(anext(frames), 2) == '{"seq": 1}'
        await bus.publish_frame("t1", '{"seq": 2}')
        assert await asyncio.wait_for(anext(frames), 2) == '{"seq": 2}'

        inputs = bus.inputs("t1")
        for n in range(3):
            await bus.send_input("t1", f'{{"n": {n}}}')
        assert [await asyncio.wait_for(anext(inputs), 2) for _ in range(3)] == ['{"n": 0}', '{"n": 1}', '{"n": 2}']

        await bus.unwatch("t1", "v1")
        assert not await bus.watched("t1")
        await bus.watch("t1", "v2")
        monkeypatch.setattr(live_bus, "VIEWER_TTL", -1.0)  # the viewer stopped announcing itself
        assert not await bus.watched("t1")
        await bus.clear("t1")
        assert not (tmp_path / "t1").exists()
        with pytest.raises(ValueError):
            await bus.watch("../etc", "v")

    asyncio.run(scenario())

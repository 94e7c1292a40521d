"""Several running tasks of one worker process share one status poll
(worker/agent/status_poll.py): a stop, a pause, a resume or a lost lease still
reaches each task's control, and every lease is renewed. Against a real
PostgreSQL database (a fresh one for this module); the control requests go
through shared/task_store.py as the API's do."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from shared import task_store
from shared.db import session_scope
from shared.keys import create_api_key
from shared.models import Task, TaskStatus, utcnow
from shared.settings import Settings, get_settings
from shared.task_store import Lease
from tests.support.database import migrated_database
from worker.agent.control import Interrupted, TaskControl

HANG_GUARD = 30.0  # seconds: only so a broken poll fails the test instead of hanging it


@pytest.fixture(scope="module")
def settings() -> Iterator[Settings]:
    with migrated_database({"BROWSERQ_CONTROL_POLL_SECONDS": "0.05", "BROWSERQ_HEARTBEAT_SECONDS": "0.2"}):
        yield get_settings()


def _running_tasks(count: int) -> list[Lease]:
    leases = []
    with session_scope() as session:
        key, _clear = create_api_key(session, f"poll-{uuid.uuid4().hex[:6]}")
        for n in range(count):
            task = Task(owner_id=key.id, task=f"task {n}")
            session.add(task)
            session.commit()
            lease = task_store.claim(session, task.id, f"test-host:1:{uuid.uuid4().hex[:8]}", max_running=count)
            assert lease is not None
            leases.append(lease)
    return leases


def _task(task_id: str) -> Task:
    with session_scope() as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task


def _on_row(task_id: str, request: Callable[..., object]) -> None:
    with session_scope() as session:
        task = session.get(Task, task_id)
        assert task is not None
        request(session, task)


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(int(HANG_GUARD / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never came true")


def _poll_runners() -> int:
    return sum(1 for t in asyncio.all_tasks() if t.get_name() == "browserq-status-poll" and not t.done())


def test_stop_pause_resume_and_a_lost_lease_reach_each_task_of_one_process(settings: Settings) -> None:
    leases = _running_tasks(5)
    stopped, paused, lost = leases[0].task_id, leases[1].task_id, leases[2].task_id

    async def run() -> None:
        controls = [TaskControl(lease, settings) for lease in leases]
        for control in controls:
            await control.__aenter__()
        try:
            assert _poll_runners() == 1  # one reader for all of them
            by_id = {c.lease.task_id: c for c in controls}
            await asyncio.to_thread(_on_row, stopped, task_store.request_stop)
            await asyncio.to_thread(_on_row, paused, task_store.request_pause)
            with session_scope() as session:
                assert task_store.release(session, next(lease for lease in leases if lease.task_id == lost))
            await _until(lambda: by_id[stopped].status is None)
            await _until(lambda: by_id[paused].status == TaskStatus.paused)
            await _until(lambda: by_id[lost].status is None)
            with pytest.raises(Interrupted):
                await by_id[stopped].checkpoint()
            with pytest.raises(Interrupted):
                await by_id[lost].checkpoint()

            parked = asyncio.create_task(by_id[paused].checkpoint())  # the agent waits here while paused
            assert await by_id[paused].until_parked(HANG_GUARD)
            await asyncio.to_thread(_on_row, paused, task_store.request_resume)
            assert await asyncio.wait_for(parked, HANG_GUARD) is False  # resumed; nobody drove the page
            assert by_id[paused].status == TaskStatus.running

            for other in leases[3:]:  # untouched: still running, and each one's lease renewed
                assert by_id[other.task_id].status == TaskStatus.running
                assert await by_id[other.task_id].checkpoint() is False
        finally:
            for control in controls:
                await control.__aexit__(None, None, None)
        await _until(lambda: _poll_runners() == 0)  # nobody left to watch: the rounds end

    asyncio.run(run())
    assert _task(stopped).status == TaskStatus.stopped
    assert _task(lost).status == TaskStatus.created


def test_every_lease_of_the_process_is_renewed(settings: Settings) -> None:
    leases = _running_tasks(3)
    ids = [lease.task_id for lease in leases]
    old = utcnow() - timedelta(minutes=5)
    with session_scope() as session:
        session.execute(update(Task).where(col(Task.id).in_(ids)).values(heartbeat_at=old))

    def renewed() -> bool:
        with session_scope() as session:
            beats = session.exec(select(col(Task.heartbeat_at)).where(col(Task.id).in_(ids))).all()
        return all(beat is not None and beat.replace(tzinfo=None) > old.replace(tzinfo=None) for beat in beats)

    async def run() -> None:
        controls = [TaskControl(lease, settings) for lease in leases]
        for control in controls:
            await control.__aenter__()
        try:
            await _until(renewed)
        finally:
            for control in controls:
                await control.__aexit__(None, None, None)

    asyncio.run(run())


def test_a_task_that_left_gets_no_more_reads(settings: Settings) -> None:
    first, second = _running_tasks(2)

    async def run() -> None:
        one, two = TaskControl(first, settings), TaskControl(second, settings)
        await one.__aenter__()
        await two.__aenter__()
        await one.__aexit__(None, None, None)
        await asyncio.to_thread(_on_row, first.task_id, task_store.request_stop)
        await asyncio.to_thread(_on_row, second.task_id, task_store.request_stop)
        try:
            await _until(lambda: two.status is None)  # the poll went on, for the one still watched
            assert one.status == TaskStatus.running  # and told the one that left nothing
        finally:
            await two.__aexit__(None, None, None)

    asyncio.run(run())

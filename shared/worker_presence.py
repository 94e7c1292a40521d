"""Which kinds of browser running workers serve. Each worker's main process renews
its row every PRESENCE_SECONDS and deletes it when it stops; run-task reads the rows
seen within STALE_SECONDS to refuse a kind no worker serves with a 422, instead of
queueing a task that would wait forever. In the database, not the broker, so it works
the same in the embedded mode (SQLite, a filesystem broker) as with Redis."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import Engine, create_engine, delete
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, select

from shared.db import get_engine
from shared.models import WorkerPresence, utcnow

log = logging.getLogger("browserq.worker")

PRESENCE_SECONDS = 5.0
STALE_SECONDS = 30.0


def served_kinds(session: Session, stale_seconds: float = STALE_SECONDS) -> set[str]:
    """The kinds some worker seen within `stale_seconds` serves."""
    since = utcnow() - timedelta(seconds=stale_seconds)
    rows = session.exec(select(WorkerPresence.browser_kind).where(col(WorkerPresence.seen_at) >= since))
    return set(rows.all())


@lru_cache(maxsize=1)
def _engine() -> Engine:
    """Its own engine without a pool: the worker's main process forks its pool
    children after this starts, and a forked child must not share a connection."""
    url = get_engine().url
    sqlite = url.get_backend_name() == "sqlite"
    return create_engine(url, poolclass=NullPool, connect_args={"timeout": 30} if sqlite else {})


class Presence:
    """The worker's row, renewed by a daemon thread until `stop`."""

    def __init__(self, kind: str, every: float = PRESENCE_SECONDS) -> None:
        self.kind = kind
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bq-presence", daemon=True)

    def start(self) -> Presence:
        self._beat()  # before the first message: a task for this kind is accepted from now on
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopped.wait(self.every):
            self._beat()

    def _beat(self) -> None:
        try:
            with Session(_engine()) as session:
                row = session.get(WorkerPresence, self.worker_id)
                if row is None:
                    row = WorkerPresence(worker_id=self.worker_id, browser_kind=self.kind)
                row.seen_at = utcnow()
                session.add(row)
                session.commit()
        except Exception as exc:  # the database is down: the row goes stale, run-task says so
            log.warning("worker presence not renewed: %s", exc)

    def stop(self) -> None:
        self._stopped.set()
        try:
            with Session(_engine()) as session:
                session.exec(delete(WorkerPresence).where(col(WorkerPresence.worker_id) == self.worker_id))
                session.commit()
        except Exception as exc:
            log.warning("worker presence not removed (it goes stale in %g s): %s", STALE_SECONDS, exc)

"""The test stacks' Redis databases (tests/support/stack.py): a database is handed
out only when no test run claims it and no client is connected to it, so a worker
a killed test run left behind cannot take a new stack's tasks."""

from __future__ import annotations

import redis

from tests.support.stack import REDIS_URL, fresh_redis_db, release_redis_db


def test_a_database_a_leftover_client_is_connected_to_is_never_handed_out() -> None:
    given: list[str] = []
    leftover = redis.Redis.from_url(f"{REDIS_URL}/0")
    try:
        first = fresh_redis_db()
        given.append(first)
        release_redis_db(first)  # unclaimed, as after a killed run's claim expired...
        leftover = redis.Redis.from_url(first)
        leftover.ping()  # ...but a client of that run still listens on it
        while True:
            try:
                given.append(fresh_redis_db())
            except RuntimeError as exc:
                assert "in use" in str(exc)
                break
        assert first not in given[1:] and len(given) > 1, given
    finally:
        leftover.close()
        for url in given:
            release_redis_db(url)

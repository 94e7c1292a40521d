"""A fresh, migrated PostgreSQL database for tests that run product code in-process
(no API or worker processes): the settings point at it for the block, then it is dropped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from shared.migrate import upgrade_database
from shared.settings import reset_settings_cache
from tests.support.stack import drop_postgres_db, fresh_postgres_db


@contextmanager
def migrated_database(env: dict[str, str] | None = None, unset: tuple[str, ...] = ()) -> Iterator[str]:
    """Its URL; `env` is set and `unset` removed from the environment meanwhile, and the
    settings cache is reset on the way in and out."""
    db_url = fresh_postgres_db()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"BROWSERQ_DATABASE_URL": db_url, **(env or {})}.items():
            patch.setenv(name, value)
        for name in unset:
            patch.delenv(name, raising=False)
        reset_settings_cache()
        upgrade_database()
        try:
            yield db_url
        finally:
            reset_settings_cache()
            drop_postgres_db(db_url)

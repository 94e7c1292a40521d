"""Apply the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade_database() -> None:
    command.upgrade(alembic_config(), "head")


def pending_changes() -> list[Any]:
    """What the models have that the migrated database lacks (empty when in step)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    import shared.models  # noqa: F401
    from shared.db import get_engine

    with get_engine().connect() as conn:
        changes: list[Any] = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        return changes


def regenerate_initial() -> None:
    """Until the first release there is one migration, 0001, rebuilt from the
    models after each change (`python -m shared.migrate regenerate-initial`).
    After a release, add migrations with `alembic revision --autogenerate` instead."""
    import os
    import tempfile

    for old in (MIGRATIONS / "versions").glob("0001_*.py"):
        old.unlink()
    os.environ["BROWSERQ_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/empty.db"
    from shared.settings import reset_settings_cache

    reset_settings_cache()
    command.revision(alembic_config(), message="initial tables", autogenerate=True, rev_id="0001")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["regenerate-initial"]:
        regenerate_initial()
    else:
        sys.exit("usage: python -m shared.migrate regenerate-initial")

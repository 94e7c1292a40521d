"""Alembic environment: the URL comes from browserq's settings, never from an ini file."""

from alembic import context
from sqlmodel import SQLModel

import shared.models  # noqa: F401  (registers the tables)
from shared.db import get_engine

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection") or get_engine()
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()

"""idempotency keys of run-task

Revision ID: 0002_idempotency
Revises: 0001
Create Date: 2026-12-01 23:05:00
"""

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes  # the AutoString columns; names the submodule for type checkers
from alembic import op

revision = "0002_idempotency"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")

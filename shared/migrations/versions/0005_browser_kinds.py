"""browser kinds: a task's kind, and the workers serving each kind

Revision ID: 0005_browser_kinds
Revises: 0004_answer_sources
Create Date: 2026-12-06 04:50:00
"""

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes  # the AutoString columns; names the submodule for type checkers
from alembic import op

revision = "0005_browser_kinds"
down_revision = "0004_answer_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("browser_kind", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_table(
        "worker_presence",
        sa.Column("worker_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("browser_kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id"),
    )


def downgrade() -> None:
    op.drop_table("worker_presence")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("browser_kind")

"""a task's cost cap and its judge

Revision ID: 0003_cost_cap_judge
Revises: 0002_idempotency
Create Date: 2026-12-06 05:00:00
"""

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes  # the AutoString columns; names the submodule for type checkers
from alembic import op

revision = "0003_cost_cap_judge"
down_revision = "0002_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("max_cost_usd", sa.Float(), nullable=True))
        batch.add_column(sa.Column("judge", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("judge_ground_truth", sa.Text(), nullable=True))
        batch.add_column(sa.Column("judge_llm", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column("judgement", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("judge_input_tokens", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("judge_output_tokens", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        for name in (
            "judge_output_tokens",
            "judge_input_tokens",
            "judgement",
            "judge_llm",
            "judge_ground_truth",
            "judge",
            "max_cost_usd",
        ):
            batch.drop_column(name)

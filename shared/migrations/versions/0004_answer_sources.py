"""where a task's answer was read on the page (replays and exported scripts re-read it)

Revision ID: 0004_answer_sources
Revises: 0003_cost_cap_judge
Create Date: 2026-12-06 04:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_answer_sources"
down_revision = "0003_cost_cap_judge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("answer_sources", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("tasks", "answer_sources")

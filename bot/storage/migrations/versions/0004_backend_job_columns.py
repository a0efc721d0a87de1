"""runs handed to a scheduler (Slurm) keep its job id and its queue reason and position

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("training_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("backend_reason", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("backend_position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("training_runs", schema=None) as batch_op:
        batch_op.drop_column("backend_position")
        batch_op.drop_column("backend_reason")
        batch_op.drop_column("job_id")

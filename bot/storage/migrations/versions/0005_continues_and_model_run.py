"""a run may continue another run's last checkpoint; a conversation remembers the run it continues and
the run its thread predicts with

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("training_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("continues_run_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("continues_run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("model_run_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_column("model_run_id")
        batch_op.drop_column("continues_run_id")
    with op.batch_alter_table("training_runs", schema=None) as batch_op:
        batch_op.drop_column("continues_run_id")

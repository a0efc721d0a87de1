"""a run on several GPUs keeps all of them in `gpu` ("0,1,...,63"): the column is widened

SQLite never enforces a VARCHAR's length, and changing it there means copying the table (which the
run_epochs rows' ON DELETE CASCADE would empty): the models keep its first length on SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _alter(old: int, new: int) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "training_runs", "gpu", existing_type=sa.String(length=old), type_=sa.String(length=new)
        )


def upgrade() -> None:
    _alter(16, 255)


def downgrade() -> None:
    _alter(255, 16)

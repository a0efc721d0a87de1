"""drop schema_meta: Alembic keeps the version now

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("schema_meta")


def downgrade() -> None:
    op.create_table(
        "schema_meta",
        sa.Column("id", sa.INTEGER(), nullable=False),
        sa.Column("version", sa.INTEGER(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )

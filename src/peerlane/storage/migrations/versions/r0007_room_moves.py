"""Room moves: when the owner moved a room to an end-to-end encrypted one.

Revision ID: 0007
Revises: 0006
Create Date: hand-written
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Nullable with no default: a plain ADD COLUMN on SQLite too (no table copy).
    op.add_column("rooms", sa.Column("moved_at", sa.Double(), nullable=True))
    op.add_column("rooms", sa.Column("moved_key_id", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("moved_key_id")
        batch.drop_column("moved_at")

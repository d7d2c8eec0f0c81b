"""Edits and deletions: when a message was last edited, when it was deleted.

Revision ID: 0005
Revises: 0004
Create Date: hand-written
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Nullable columns with no default: a plain ADD COLUMN on SQLite too (no table copy).
    op.add_column("messages", sa.Column("edited_at", sa.Double(), nullable=True))
    op.add_column("messages", sa.Column("deleted_at", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("edited_at")

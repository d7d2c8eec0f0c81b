"""Departures: the key epoch at which a participant last left an encrypted room for good
(signed out of its last session) or was removed, so that the owner's client rotates the
room key even when it was offline at the time (docs/protocol.md, "Key rotation").

Revision ID: 0009
Revises: 0008
Create Date: hand-written
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Nullable with no default: a plain ADD COLUMN on SQLite too (no table copy).
    op.add_column("rooms", sa.Column("left_epoch", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("left_epoch")

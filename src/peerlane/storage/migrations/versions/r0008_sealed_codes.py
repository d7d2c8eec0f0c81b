"""Sealed code words: an encrypted room's invite keeps its code's words sealed under the
room key by the browser that drew them (docs/protocol.md, "Where the words come from").

Revision ID: 0008
Revises: 0007
Create Date: hand-written
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Nullable with no default: a plain ADD COLUMN on SQLite too (no table copy).
    op.add_column("invites", sa.Column("sealed_code", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invites") as batch:
        batch.drop_column("sealed_code")

"""Quotas: when an upload last progressed (reservations lapse), who created a share.

Revision ID: 0004
Revises: 0003
Create Date: hand-written
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("progressed_at", sa.Double(), nullable=True))
    op.execute(sa.text("UPDATE files SET progressed_at = created_at"))
    with op.batch_alter_table("shares") as batch:
        batch.add_column(sa.Column("creator", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shares") as batch:
        batch.drop_column("creator")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("progressed_at")

"""Quotas: when an upload last progressed (reservations lapse), who created a share.

Revision ID: 0003q
Revises: 0002
Create Date: hand-written
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003q"
down_revision: str | None = "0002"
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

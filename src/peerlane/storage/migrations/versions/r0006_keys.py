"""End-to-end keys: members' identity keys, the room key's epoch, history setting, wraps.

Revision ID: 0006
Revises: 0005
Create Date: hand-written
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A nullable column, and NOT NULL ones with a constant default: plain ADD COLUMNs on
    # SQLite too (no table copy).
    op.add_column("participants", sa.Column("identity_key", sa.String(), nullable=True))
    op.add_column("rooms", sa.Column("key_epoch", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("rooms", sa.Column("history", sa.String(), nullable=False, server_default="all"))
    op.create_table(
        "key_wraps",
        sa.Column("recipient_id", sa.String(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("sender_key", sa.String(), nullable=False),
        sa.Column("wrap", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["participants.id"],
            name="fk_key_wraps_recipient_id_participants",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_key_wraps_room_id_rooms", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("recipient_id", "epoch", "sender_id", name="pk_key_wraps"),
    )
    op.create_index("ix_key_wraps_room_id", "key_wraps", ["room_id"])


def downgrade() -> None:
    op.drop_index("ix_key_wraps_room_id", table_name="key_wraps")
    op.drop_table("key_wraps")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("history")
        batch.drop_column("key_epoch")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("identity_key")

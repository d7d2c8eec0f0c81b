"""Initial schema: meta, rooms, participants, invites, messages.

Revision ID: 0001
Revises:
Create Date: hand-written

Constraint names follow ``peerlane.storage.tables.NAMING``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _room_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["room_id"], ["rooms.id"], name=f"fk_{table}_room_id_rooms", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("owner_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("last_active_at", sa.Double(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("max_age", sa.Double(), nullable=True),
        sa.Column("max_messages", sa.Integer(), nullable=True),
        sa.Column("idle_expiry", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rooms"),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("last_read_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_participants"),
        _room_fk("participants"),
    )
    op.create_index("ix_participants_room_id", "participants", ["room_id"])
    op.create_table(
        "invites",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("nameplate", sa.Integer(), nullable=True),
        sa.Column("words", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invites"),
        _room_fk("invites"),
        sa.UniqueConstraint("token", name="uq_invites_token"),
        sa.UniqueConstraint("nameplate", name="uq_invites_nameplate"),
    )
    op.create_index("ix_invites_room_id", "invites", ["room_id"])
    op.create_table(
        "messages",
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("sender_name", sa.String(), nullable=False),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("ref", sa.BigInteger(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "seq", name="pk_messages"),
        _room_fk("messages"),
        sa.UniqueConstraint(
            "room_id", "sender_id", "client_id", name="uq_messages_room_id_sender_id_client_id"
        ),
    )
    op.create_index("ix_messages_room_id_ts", "messages", ["room_id", "ts"])


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("invites")
    op.drop_table("participants")
    op.drop_table("rooms")
    op.drop_table("meta")

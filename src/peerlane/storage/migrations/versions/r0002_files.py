"""Files: shares, files (uploads and the files they become), file_blocks.

Revision ID: 0002
Revises: 0001
Create Date: hand-written

Constraint names follow ``peerlane.storage.tables.NAMING``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# The row that upload creations lock to check the server-wide storage quota in turn.
QUOTA_LOCK_KEY = "files.quota_lock"


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("manage_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("max_downloads", sa.Integer(), nullable=True),
        sa.Column("size_limit", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shares"),
        sa.UniqueConstraint("token_hash", name="uq_shares_token_hash"),
    )
    op.create_index("ix_shares_expires_at", "shares", ["expires_at"])
    op.create_table(
        "files",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=True),
        sa.Column("share_id", sa.String(), nullable=True),
        sa.Column("sender_id", sa.String(), nullable=True),
        sa.Column("recipient_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("upload_metadata", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=True),
        sa.Column("expected_root", sa.String(), nullable=True),
        sa.Column("root", sa.String(), nullable=True),
        sa.Column("completed_at", sa.Double(), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("lock_owner", sa.String(), nullable=True),
        sa.Column("lock_expires", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_files_room_id_rooms", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["share_id"], ["shares.id"], name="fk_files_share_id_shares", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_files_room_id", "files", ["room_id"])
    op.create_index("ix_files_share_id", "files", ["share_id"])
    op.create_index("ix_files_expires_at", "files", ["expires_at"])
    op.create_table(
        "file_blocks",
        sa.Column("file_id", sa.String(), nullable=False),
        sa.Column("first_block", sa.Integer(), nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("file_id", "first_block", name="pk_file_blocks"),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name="fk_file_blocks_file_id_files", ondelete="CASCADE"
        ),
    )
    meta = sa.table("meta", sa.column("key", sa.String()), sa.column("value", sa.Text()))
    op.bulk_insert(meta, [{"key": QUOTA_LOCK_KEY, "value": ""}])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM meta WHERE key = :key").bindparams(key=QUOTA_LOCK_KEY))
    op.drop_table("file_blocks")
    op.drop_table("files")
    op.drop_table("shares")

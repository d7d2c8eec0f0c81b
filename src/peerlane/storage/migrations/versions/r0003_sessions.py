"""Sessions that can be ended, and invite secrets kept only as hashes.

- ``sessions``: a row per signed-in browser or client. Tokens issued before this
  revision name no session and are refused: their holders join again with an invite.
- ``invites.token`` becomes ``token_hash`` (its SHA-256, hex) and ``invites.words``
  becomes ``words_hash``. Existing links keep working (their hash is computed here).
  The words' hash is keyed with the server secret, which a migration does not know
  (it may be given by ``--secret`` rather than kept in the database), so the short
  codes of existing invites are retired instead (nameplate and words hash NULL): they
  live a day by default, and their links still work.

Revision ID: 0003
Revises: 0002
Create Date: hand-written

Constraint names follow ``peerlane.storage.tables.NAMING``.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("participant_id", sa.String(), nullable=False),
        sa.Column("room_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name="fk_sessions_participant_id_participants",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_sessions_participant_id", "sessions", ["participant_id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    _hash_invite_secrets()


def _hash_invite_secrets() -> None:
    with op.batch_alter_table("invites") as batch:
        batch.add_column(sa.Column("token_hash", sa.String(), nullable=True))
        batch.add_column(sa.Column("words_hash", sa.String(), nullable=True))
    invites = sa.table(
        "invites",
        sa.column("id", sa.String()),
        sa.column("token", sa.String()),
        sa.column("token_hash", sa.String()),
        sa.column("nameplate", sa.Integer()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(invites.c.id, invites.c.token)).all()
    for invite_id, token in rows:
        conn.execute(
            invites.update()
            .where(invites.c.id == invite_id)
            .values(token_hash=hashlib.sha256(token.encode()).hexdigest(), nameplate=None)
        )
    with op.batch_alter_table("invites") as batch:
        batch.drop_constraint("uq_invites_token", type_="unique")
        batch.drop_column("token")
        batch.drop_column("words")
        batch.alter_column("token_hash", existing_type=sa.String(), nullable=False)
        batch.create_unique_constraint("uq_invites_token_hash", ["token_hash"])


def downgrade() -> None:
    """Back to 0002. The invite secrets cannot be recovered from their hashes: every
    invite is revoked (owners make new ones)."""
    op.drop_table("sessions")
    with op.batch_alter_table("invites") as batch:
        batch.add_column(sa.Column("token", sa.String(), nullable=True))
        batch.add_column(sa.Column("words", sa.String(), nullable=True))
    op.execute(
        "UPDATE invites SET token = 'revoked-' || id, words = '', nameplate = NULL, "
        "revoked_at = COALESCE(revoked_at, created_at)"
    )
    with op.batch_alter_table("invites") as batch:
        batch.drop_constraint("uq_invites_token_hash", type_="unique")
        batch.drop_column("token_hash")
        batch.drop_column("words_hash")
        batch.alter_column("token", existing_type=sa.String(), nullable=False)
        batch.alter_column("words", existing_type=sa.String(), nullable=False)
        batch.create_unique_constraint("uq_invites_token", ["token"])

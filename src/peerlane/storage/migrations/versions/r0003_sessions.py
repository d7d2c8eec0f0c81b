"""Sessions: a row per signed-in browser or client, so sessions can be ended.

Revision ID: 0003s
Revises: 0002
Create Date: hand-written

Constraint names follow ``peerlane.storage.tables.NAMING``. Tokens issued before this
revision name no session and are refused: their holders join again with an invite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003s"
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


def downgrade() -> None:
    op.drop_table("sessions")

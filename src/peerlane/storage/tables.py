"""The database schema as SQLAlchemy Core tables.

This is the schema the code expects; the Alembic revisions in ``migrations/`` are what
actually create it, and ``tests/storage`` checks the two agree. Constraint and index
names come from :data:`NAMING`, so migrations can refer to them on every back-end.

Times are float seconds since the epoch (double precision), as everywhere in peerlane.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def _belongs_to(
    name: str, parent: str, *, nullable: bool = False, index: bool = True
) -> Column[str]:
    """A column holding the id of the ``parent`` row this row belongs to: deleting the
    parent deletes this row with it (every such link in the schema works this way)."""
    return Column(
        name,
        String,
        ForeignKey(f"{parent}.id", ondelete="CASCADE"),
        nullable=nullable,
        index=index,
    )


# Server-wide settings that must agree across instances (e.g. the signing secret).
meta = Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    # Not a foreign key: the owner row is inserted after the room it belongs to.
    Column("owner_id", String, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("last_active_at", Double, nullable=False),
    # The seq of the newest message; incremented under the row lock to number messages.
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("max_age", Double, nullable=True),
    Column("max_messages", Integer, nullable=True),
    Column("idle_expiry", Double, nullable=True),
    # Revision 0006: the newest room key's epoch, and what new members can read.
    Column("key_epoch", Integer, nullable=False, default=0, server_default="0"),
    Column("history", String, nullable=False, default="all", server_default="all"),
    # Set once, when the owner moves the room to an end-to-end encrypted one (r0007):
    # from then no message is stored in it.
    Column("moved_at", Double, nullable=True),
    # The new room's key id (not its key): what members check a handed-over link against.
    Column("moved_key_id", String, nullable=True),
    # Revision 0009: the key epoch when someone last left for good or was removed; while
    # it is the room's epoch, that key is known to someone gone and is due to rotate.
    Column("left_epoch", Integer, nullable=True),
)

participants = Table(
    "participants",
    metadata,
    Column("id", String, primary_key=True),
    _belongs_to("room_id", "rooms"),
    Column("name", String, nullable=False),
    Column("role", String, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("last_read_seq", BigInteger, nullable=False, default=0),
    # Revision 0006: the device's identity public key (b64u), opaque to the server.
    Column("identity_key", String, nullable=True),
)

invites = Table(
    "invites",
    metadata,
    Column("id", String, primary_key=True),
    _belongs_to("room_id", "rooms"),
    # Hashes of the link token and of the code's words (revision 0003; see
    # core.invite_secrets): the secrets themselves are never stored.
    Column("token_hash", String, nullable=False),
    # NULL once the short code is retired; unique among the non-NULL ones.
    Column("nameplate", Integer, nullable=True),
    Column("words_hash", String, nullable=True),
    Column("created_by", String, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("max_uses", Integer, nullable=True),
    Column("uses", Integer, nullable=False, default=0),
    Column("revoked_at", Double, nullable=True),
    Column("failures", Integer, nullable=False, default=0),
    # Revision 0008: an encrypted room's code words sealed by a member's browser.
    Column("sealed_code", String, nullable=True),
    # The unique constraints double as the lookup indexes for links and short codes.
    UniqueConstraint("token_hash"),
    UniqueConstraint("nameplate"),
)

messages = Table(
    "messages",
    metadata,
    _belongs_to("room_id", "rooms", index=False),  # the primary key leads with it
    Column("seq", BigInteger, nullable=False),
    Column("client_id", String, nullable=False),
    Column("sender_id", String, nullable=False),
    Column("sender_name", String, nullable=False),
    Column("ts", Double, nullable=False),
    Column("kind", String, nullable=False),
    Column("ref", BigInteger, nullable=True),
    Column("body", Text, nullable=False),
    # Revision 0005: set when the sender edited the message (body is then the new one) or
    # deleted it (body is then "null": nothing of it is kept).
    Column("edited_at", Double, nullable=True),
    Column("deleted_at", Double, nullable=True),
    # (room_id, seq) serves paging; the unique key makes client resends idempotent.
    PrimaryKeyConstraint("room_id", "seq"),
    UniqueConstraint("room_id", "sender_id", "client_id"),
    # Age retention deletes by time within a room.
    Index(None, "room_id", "ts"),
)

# -- key wraps (revision 0006) --

# A room key of one epoch wrapped to one member (docs/protocol.md, "Key wrapping to a
# member"), kept until the member or the room goes, so a member offline at a rotation
# gets its key later. The primary key leads with the recipient: it lists its own wraps.
key_wraps = Table(
    "key_wraps",
    metadata,
    _belongs_to("recipient_id", "participants", index=False),
    Column("epoch", Integer, nullable=False),
    Column("sender_id", String, nullable=False),
    _belongs_to("room_id", "rooms"),
    Column("sender_key", String, nullable=False),
    Column("wrap", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    PrimaryKeyConstraint("recipient_id", "epoch", "sender_id"),
)

# -- sessions (revision 0003) --

# A signed-in browser or client; tokens name their row. Removing the participant
# removes its sessions.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String, primary_key=True),
    _belongs_to("participant_id", "participants"),
    Column("room_id", String, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
    Column("revoked_at", Double, nullable=True),
)

# -- files (revision 0002) --

# A share link. Only hashes of its two secrets are kept (see files.records.Share).
shares = Table(
    "shares",
    metadata,
    Column("id", String, primary_key=True),
    Column("token_hash", String, nullable=False),
    Column("manage_hash", String, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
    Column("max_downloads", Integer, nullable=True),
    Column("size_limit", BigInteger, nullable=False),
    # Keyed hash of the address that created the share (its daily upload allowance).
    Column("creator", String, nullable=True),
    UniqueConstraint("token_hash"),
)

# An upload and the file it becomes; the id is also the name of its bytes in the store.
files = Table(
    "files",
    metadata,
    Column("id", String, primary_key=True),
    _belongs_to("room_id", "rooms", nullable=True),
    _belongs_to("share_id", "shares", nullable=True),
    Column("sender_id", String, nullable=True),
    Column("recipient_id", String, nullable=True),
    Column("name", String, nullable=False),
    Column("content_type", String, nullable=False),
    Column("length", BigInteger, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("status", String, nullable=False),
    Column("upload_metadata", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    # Unfinished (and failed) uploads: cleanup deletes them after this time.
    Column("expires_at", Double, nullable=True, index=True),
    Column("expected_root", String, nullable=True),
    Column("root", String, nullable=True),
    Column("completed_at", Double, nullable=True),
    Column("downloads", Integer, nullable=False, default=0),
    # The lease of the one request writing to the upload, across instances.
    Column("lock_owner", String, nullable=True),
    Column("lock_expires", Double, nullable=True),
    # When bytes last arrived (or the upload was created or reserved again): an
    # unfinished upload's reservation lapses some minutes after it.
    Column("progressed_at", Double, nullable=True),
)

# Integrity block hashes of an unfinished upload, saved with each checkpoint so that a
# resumed upload goes on hashing without re-reading the file. ``hashes`` holds the
# 32-byte hashes of blocks first_block, first_block + 1, ... concatenated.
file_blocks = Table(
    "file_blocks",
    metadata,
    _belongs_to("file_id", "files", index=False),  # the primary key leads with it
    Column("first_block", Integer, nullable=False),
    Column("hashes", LargeBinary, nullable=False),
    PrimaryKeyConstraint("file_id", "first_block"),
)

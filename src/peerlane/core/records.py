"""Plain records shared by the core, the storage back-ends and the server.

Times are float seconds since the epoch, passed in by the caller. Ids are random,
URL-safe strings made by :func:`new_id`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Literal

from peerlane.core import protocol as p

Role = Literal["owner", "member"]
HistorySetting = Literal["all", "joined"]
MessageKind = p.ChatKind


def new_id(nbytes: int = 12) -> str:
    return secrets.token_urlsafe(nbytes)


@dataclass(frozen=True, slots=True)
class Retention:
    """Per-room limits; ``None`` means no limit of that kind."""

    max_age: float | None = None  # seconds a message is kept
    max_messages: int | None = None  # messages kept per room (the newest)
    idle_expiry: float | None = None  # seconds without activity before the room is deleted


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    name: str
    owner_id: str
    created_at: float
    last_active_at: float
    last_seq: int
    retention: Retention
    # End-to-end keys (revision 0006): the epoch of the newest room key (a rotation makes
    # epoch + 1), and what a new member can read: "all" history or from its "joined" on.
    key_epoch: int = 0
    history: HistorySetting = "all"
    # When the owner moved the room to an end-to-end encrypted one: read-only from then.
    moved_at: float | None = None
    # The encrypted room's key id, as the owner gave it: a link handed over between
    # members' browsers is taken only when its key has this id (docs/security.md).
    moved_key_id: str | None = None
    # The key epoch when a participant last left for good or was removed (revision 0009):
    # while it equals key_epoch, the current key is known to someone gone.
    left_epoch: int | None = None


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    room_id: str
    name: str
    role: Role
    created_at: float
    last_read_seq: int = 0
    # The device's X25519 identity public key, b64u (43 characters), as it published it;
    # opaque to the server (docs/protocol.md, "Identity keys on the server").
    identity_key: str | None = None


@dataclass(frozen=True, slots=True)
class Invite:
    id: str
    room_id: str
    # Only hashes of the two secrets are kept (core.invite_secrets): the link token's
    # SHA-256, and a keyed hash of the code's words (None: no code words known).
    token_hash: str
    nameplate: int | None  # the number of the short code; None once retired
    words_hash: str | None
    created_by: str
    created_at: float
    expires_at: float
    max_uses: int | None
    uses: int = 0
    revoked_at: float | None = None
    failures: int = 0  # wrong guesses of the words on this nameplate
    # An encrypted room's code words, drawn by the inviting browser and sealed under the
    # room key (opaque here); such an invite has no words_hash: the server never knows them.
    sealed_code: str | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A signed-in browser or client: what a token names, so it can be ended."""

    id: str
    participant_id: str
    room_id: str
    created_at: float
    expires_at: float  # idle expiry, pushed on while the session is in use
    revoked_at: float | None = None  # signed out

    def live(self, now: float) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True, slots=True)
class StoredMessage:
    room_id: str
    seq: int
    client_id: str
    sender_id: str
    sender_name: str
    ts: float
    kind: MessageKind
    ref: int | None
    body: str  # compact JSON text, opaque to the server; "null" once deleted
    edited_at: float | None = None
    deleted_at: float | None = None

    def to_wire(self) -> p.Message:
        return p.Message(
            seq=self.seq,
            id=self.client_id,
            sender=self.sender_id,
            sender_name=self.sender_name,
            ts=self.ts,
            kind=self.kind,
            ref=self.ref,
            body=json.loads(self.body),
            edited_at=self.edited_at,
            deleted_at=self.deleted_at,
        )


@dataclass(frozen=True, slots=True)
class StoredId:
    """Where a sender's chat id was stored: its seq and time (what its ack said)."""

    client_id: str
    seq: int
    ts: float


@dataclass(frozen=True, slots=True)
class CleanupReport:
    messages_deleted: int = 0
    invites_released: int = 0
    deleted_rooms: tuple[str, ...] = ()  # idle rooms deleted, to tell their sockets

    @property
    def rooms_deleted(self) -> int:
        return len(self.deleted_rooms)


@dataclass(frozen=True, slots=True)
class KeyWrap:
    """A room key of one epoch wrapped to one member by another (a ``w1.`` string the
    server carries as it is), with the sender's identity key as it was when wrapping."""

    room_id: str
    epoch: int
    recipient_id: str
    sender_id: str
    sender_key: str
    wrap: str
    created_at: float

"""The storage interface. Every method is one transaction; times are passed in."""

from __future__ import annotations

from typing import Protocol

from peerlane.core.records import (
    CleanupReport,
    Invite,
    MessageKind,
    Participant,
    Retention,
    Room,
    StoredMessage,
)


class Store(Protocol):
    """What the server needs from a database. Implementations raise only
    :class:`peerlane.errors.PeerlaneError` subclasses for expected failures."""

    async def start(self) -> None:
        """Connect and bring the schema up to date (run migrations)."""

    async def close(self) -> None: ...

    async def ready(self) -> bool:
        """True if the database answers and every migration is applied."""

    # -- server metadata --

    async def get_or_set_meta(self, key: str, value: str) -> str:
        """Return the stored value for ``key``; store ``value`` first if there is none.
        Safe when several instances race: all get the one value that won."""

    # -- rooms --

    async def create_room(self, room: Room, owner: Participant, invite: Invite) -> Invite:
        """Create a room with its owner and first invite, atomically. Returns the invite
        with its allocated nameplate (the smallest free one)."""

    async def get_room(self, room_id: str) -> Room | None: ...

    async def set_retention(self, room_id: str, retention: Retention) -> Room:
        """Raise NotFoundError(ROOM_NOT_FOUND) if there is no such room."""

    async def delete_room(self, room_id: str) -> bool:
        """Delete the room with its messages, invites and participants."""

    async def count_rooms(self) -> int: ...

    # -- participants --

    async def redeem_invite(
        self, invite_id: str, participant: Participant, *, now: float, max_participants: int
    ) -> Participant:
        """Use one invite and add ``participant``, atomically. Raises GoneError with the
        reason (revoked / expired / exhausted) or LimitError(ROOM_FULL); two concurrent
        redemptions never exceed ``max_uses``."""

    async def get_participant(self, participant_id: str) -> Participant | None: ...

    async def list_participants(self, room_id: str) -> list[Participant]: ...

    async def set_last_read(self, participant_id: str, seq: int) -> None:
        """Raise the read position; never lowers it."""

    # -- invites --

    async def create_invite(self, invite: Invite) -> Invite:
        """Store ``invite`` with the smallest free nameplate (its own is ignored)."""

    async def get_invite(self, invite_id: str) -> Invite | None: ...

    async def get_invite_by_token(self, token: str) -> Invite | None: ...

    async def get_invite_by_nameplate(self, nameplate: int) -> Invite | None: ...

    async def list_invites(self, room_id: str) -> list[Invite]: ...

    async def update_invite(
        self,
        invite_id: str,
        *,
        expires_at: float | None = None,
        max_uses: int | None = None,
        clear_max_uses: bool = False,
        revoked_at: float | None = None,
    ) -> Invite:
        """Change the given fields only. Raise NotFoundError(INVITE_NOT_FOUND)."""

    async def record_code_failure(self, invite_id: str, *, max_failures: int) -> Invite:
        """Count a wrong guess; at ``max_failures`` retire the code (nameplate → None)."""

    # -- messages --

    async def append_message(
        self,
        *,
        room_id: str,
        client_id: str,
        sender_id: str,
        sender_name: str,
        kind: MessageKind,
        ref: int | None,
        body: str,
        now: float,
    ) -> tuple[StoredMessage, bool]:
        """Store a message with the room's next seq (gap-free, increasing) and ``now`` as
        its timestamp; also marks the room active. If ``(room_id, sender_id, client_id)``
        exists, return that message and True (idempotent resend), else the new one and
        False. Raise NotFoundError(ROOM_NOT_FOUND) if the room is gone."""

    async def messages_after(self, room_id: str, after: int, limit: int) -> list[StoredMessage]:
        """Up to ``limit`` messages with seq > ``after``, ascending."""

    async def messages_before(self, room_id: str, before: int, limit: int) -> list[StoredMessage]:
        """The ``limit`` newest messages with seq < ``before``, ascending."""

    # -- retention --

    async def cleanup(self, *, now: float, invite_grace: float) -> CleanupReport:
        """Apply every room's retention (max age, max count), delete rooms idle past their
        idle expiry, and release the nameplates of invites dead for ``invite_grace``."""

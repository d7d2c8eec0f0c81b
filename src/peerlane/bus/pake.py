"""Join-by-code attempts across instances (server/pake_join.py): which members can
answer in a room, wherever their sockets are, and the messages between the instance
holding a joiner's socket and the instance holding the answering member's.

Two implementations, as for the bus: :class:`MemoryPakeLink` (one process: every
message is handled at once, in the sender's call) and ``pake_redis.RedisPakeLink``
(every instance on one Redis: a joiner on instance A is answered by a member on B).
The messages are small JSON objects the driver defines; the link only carries them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

Handler = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class MemberRef:
    """One member's room socket that can answer attempts: ``connection`` is unique on
    its ``instance``."""

    room_id: str
    participant_id: str
    instance: str
    connection: str

    def to_json(self) -> dict[str, str]:
        return {
            "room": self.room_id,
            "participant": self.participant_id,
            "instance": self.instance,
            "connection": self.connection,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> MemberRef:
        return cls(
            str(raw["room"]), str(raw["participant"]), str(raw["instance"]), str(raw["connection"])
        )


class PakeLink(Protocol):
    # This instance's id (the bus's): where messages for its sockets are sent.
    instance: str
    # Seconds between checks that an attempt's member is still there (its instance may
    # have died without a word); None when nothing can die apart from this process.
    check_interval: float | None

    async def start(self, handler: Handler) -> None:
        """From now on hand every message sent or broadcast to this instance to
        ``handler`` (which must not raise)."""

    async def close(self) -> None: ...

    async def add_member(self, member: MemberRef) -> None:
        """``member`` (a socket of this instance) can answer attempts in its room."""

    async def remove_member(self, member: MemberRef) -> None: ...

    async def members(self, room_id: str) -> list[MemberRef]:
        """The members who can answer in ``room_id``, on every instance, oldest first."""

    async def alive(self, member: MemberRef) -> bool:
        """Is ``member`` still listed (not removed, and its instance refreshing it)?"""

    async def send(self, instance: str, message: dict[str, Any]) -> None:
        """Hand ``message`` to ``instance``'s handler (dropped if it is gone)."""

    async def broadcast(self, message: dict[str, Any]) -> None:
        """Hand ``message`` to every instance's handler, this one's included."""


class MemoryPakeLink:
    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.check_interval: float | None = None  # members leave only through remove
        self._handler: Handler | None = None
        self._members: dict[str, dict[str, MemberRef]] = {}  # room -> connection -> ref

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def close(self) -> None:
        self._handler = None

    async def add_member(self, member: MemberRef) -> None:
        self._members.setdefault(member.room_id, {})[member.connection] = member

    async def remove_member(self, member: MemberRef) -> None:
        room = self._members.get(member.room_id)
        if room is not None:
            room.pop(member.connection, None)
            if not room:
                del self._members[member.room_id]

    async def members(self, room_id: str) -> list[MemberRef]:
        return list(self._members.get(room_id, {}).values())

    async def alive(self, member: MemberRef) -> bool:
        return self._members.get(member.room_id, {}).get(member.connection) == member

    async def send(self, instance: str, message: dict[str, Any]) -> None:
        if instance == self.instance:
            await self.broadcast(message)

    async def broadcast(self, message: dict[str, Any]) -> None:
        if self._handler is not None:
            await self._handler(message)

"""Members' room sockets in joining by code (server/pake_join.py): this instance's
members on the :class:`peerlane.bus.pake.PakeLink`, the frames relayed to them from the
instance holding an attempt's joiner, and their answers sent back there.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from peerlane.bus.pake import Handler, MemberRef, MemoryPakeLink, PakeLink
from peerlane.bus.redis import RedisBus
from peerlane.core.records import new_id
from peerlane.errors import ErrorCode
from peerlane.server import error_replies as replies
from peerlane.server.services import Services


class MemberSocket(Protocol):
    """What the relay needs of a member's room connection."""

    @property
    def room_id(self) -> str: ...

    @property
    def participant_id(self) -> str: ...

    def send_text(self, text: str) -> Awaitable[None]: ...


@dataclass(eq=False)
class LocalMember:
    """A member's socket on this instance, and the attempts relayed to it: attempt id
    -> the instance holding that attempt's joiner (where the member's answers go)."""

    socket: MemberSocket
    ref: MemberRef
    attempts: dict[str, str] = field(default_factory=dict)


def make_link(services: Services) -> PakeLink:
    if isinstance(services.bus, RedisBus):
        from peerlane.bus.pake_redis import RedisPakeLink

        return RedisPakeLink(services.bus, ttl=services.bus.presence_ttl)
    return MemoryPakeLink(services.bus.instance)


class PakeMembers:
    """This instance's members; messages about attempts go to ``on_attempts``."""

    def __init__(self, services: Services, link: PakeLink | None, on_attempts: Handler) -> None:
        self.services = services
        self.link = make_link(services) if link is None else link
        self._on_attempts = on_attempts
        self._local: dict[str, LocalMember] = {}  # by connection
        self._sockets: dict[MemberSocket, LocalMember] = {}

    async def start(self) -> None:
        await self.link.start(self._on_link)

    async def close(self) -> None:
        await self.link.close()

    async def joined(self, member: MemberSocket) -> None:
        """A member's socket joined its room: it answers the attempts waiting there,
        on any instance."""
        ref = MemberRef(member.room_id, member.participant_id, self.link.instance, new_id(9))
        local = LocalMember(member, ref)
        self._local[ref.connection], self._sockets[member] = local, local
        await self.link.add_member(ref)
        await self.link.broadcast({"t": "online", "member": ref.to_json()})

    async def left(self, member: MemberSocket) -> None:
        """A member's socket closed: the attempts it was answering end, wherever their
        joiners are (each may try again with another member)."""
        local = self._sockets.pop(member, None)
        if local is None:
            return
        del self._local[local.ref.connection]
        await self.link.remove_member(local.ref)
        await self.link.broadcast({"t": "gone", "member": local.ref.to_json()})

    async def message(self, member: MemberSocket, message: dict[str, Any]) -> None:
        """A ``pake.reply``, ``pake.admit`` or ``pake.reject`` from a member's client:
        to the instance holding the attempt's joiner, if it was relayed to this member."""
        local = self._sockets.get(member)
        owner = None if local is None else local.attempts.get(str(message.get("attempt")))
        if local is None or owner is None:
            text = "No such attempt is yours."
            await member.send_text(
                replies.websocket_error(self.services.metrics, ErrorCode.INVALID_MESSAGE, text)
            )
            return
        await self.link.send(
            owner, {"t": "from_member", "member": local.ref.to_json(), "message": message}
        )

    async def send(self, member: MemberRef, text: str, attempt: str | None = None) -> None:
        """A frame to ``member`` on its instance; ``attempt``: its answers come here."""
        await self.link.send(
            member.instance,
            {
                "t": "to_member",
                "member": member.to_json(),
                "owner": self.link.instance,
                "attempt": attempt,
                "text": text,
            },
        )

    async def _on_link(self, message: dict[str, Any]) -> None:
        if message.get("t") == "to_member":
            await self._deliver(MemberRef.from_json(message["member"]), message)
        else:
            await self._on_attempts(message)

    async def _deliver(self, member: MemberRef, message: dict[str, Any]) -> None:
        """A frame for one of this instance's members; if its socket is gone, the
        attempt's instance is told (it may not have heard)."""
        local, owner = self._local.get(member.connection), str(message["owner"])
        if local is None:
            await self.link.send(owner, {"t": "gone", "member": member.to_json()})
            return
        if message.get("attempt") is not None:
            local.attempts[str(message["attempt"])] = owner
        await local.socket.send_text(str(message["text"]))

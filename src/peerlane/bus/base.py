"""The bus interface: room fan-out and presence, across every server instance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from peerlane.core import protocol as p
from peerlane.core.session import RoomEvent


class Subscription(Protocol):
    """Events of one room, in publish order. ``overflowed`` turns true when the consumer
    fell too far behind and events were dropped: the connection must then close, and the
    client reconnects and replays from storage (nothing is lost, storage has it)."""

    overflowed: bool

    def __aiter__(self) -> AsyncIterator[RoomEvent]: ...


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, event: RoomEvent) -> None: ...

    def subscribe(self, room_id: str) -> AbstractAsyncContextManager[Subscription]: ...

    async def add_peer(self, room_id: str, peer: p.PeerInfo) -> None: ...

    async def remove_peer(self, room_id: str, peer_id: str) -> None: ...

    async def peers(self, room_id: str) -> list[p.PeerInfo]: ...

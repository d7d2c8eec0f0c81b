"""The bus interface: room fan-out, presence and rate limits, across every server
instance."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from peerlane.core import protocol as p
from peerlane.core.session import RoomEvent


class Subscription(Protocol):
    """Events of one room, in publish order. ``overflowed`` turns true when the consumer
    fell too far behind and events were dropped, or when the bus lost its connection to
    Redis (events published meanwhile never arrived): the connection must then close, and
    the client reconnects and replays from storage (nothing is lost, storage has it)."""

    overflowed: bool

    def listen(self, listener: Callable[[RoomEvent | None], None]) -> None:
        """Hand each event to ``listener`` in the publisher's call instead (None: the
        subscription ended); for consumers that do not await."""

    def __aiter__(self) -> AsyncIterator[RoomEvent]: ...


class Limiter(Protocol):
    """Token buckets, one per key, shared by every instance on the same bus: ``rate``
    tokens per second up to ``burst``. Times are the callers' clocks (seconds)."""

    async def take(self, key: str, now: float, cost: float = 1.0) -> float | None:
        """Spend from ``key``'s bucket; ``None`` if allowed, else seconds to wait."""

    async def peek(self, key: str, now: float, cost: float = 1.0) -> float | None:
        """Like :meth:`take` without spending: would ``key`` be allowed now?"""


class Bus(Protocol):
    # This process's random id among the instances on one bus (``/readyz`` shows it, so
    # an operator or a test can tell which instance behind a balancer answered).
    instance: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ready(self) -> bool:
        """Can the bus be used now (Redis answering)? For ``/readyz``; never raises."""
        ...

    async def publish(self, event: RoomEvent) -> None: ...

    def subscribe(self, room_id: str) -> AbstractAsyncContextManager[Subscription]: ...

    async def add_peer(self, room_id: str, peer: p.PeerInfo) -> None: ...

    async def remove_peer(self, room_id: str, peer_id: str) -> None: ...

    async def forget_peer(self, room_id: str, peer_id: str) -> None:
        """A connection whose peer id a newer one resumed (core.peer_ids) ends: stop
        keeping its entry alive from here, but leave the shared entry, now the newer
        connection's, in place."""

    async def peers(self, room_id: str) -> list[p.PeerInfo]: ...

    def limiter(self, name: str, rate: float, burst: float, *, leased: bool = False) -> Limiter:
        """The limiter called ``name`` (one per purpose: room creation, joins, ...).

        ``leased``: checked on every frame, so an instance may take budget from the
        shared bucket in batches (core.ratelimit.LeasedBudget) instead of a round trip
        per take; a client spread over K instances then gets at most its limit plus K
        leases of a tenth of the burst. One process alone (the in-process bus) is exact
        either way."""

    async def share_status(self, topic: str, name: str, value: str) -> None:
        """Put one instance's latest finding about ``name`` (a TURN provider's health)
        where every instance reads it; the newest write wins."""

    async def statuses(self, topic: str) -> dict[str, str]:
        """Every finding of ``topic`` shared so far, by name."""
        ...

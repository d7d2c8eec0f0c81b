"""Where PeerJS peers are: which socket holds an id, and the frames waiting for ids that
have not connected yet.

Two implementations, as for the bus: :class:`MemoryPeerjsRelay` (one process) and
``peerjs_redis.RedisPeerjsRelay`` (every instance on one Redis: a peer on instance A
reaches a peer on instance B, and the queue of a peer that has not connected is
shared). Ids are namespaced by the PeerJS key, so two apps on one server never meet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from peerlane.core.peerjs import NOT_QUEUED, Claim, Frame, Queues, claim


class PeerSocket(Protocol):
    """What the relay needs of a connected peer."""

    def deliver(self, text: str) -> None:
        """Write ``text`` to the client (never blocks: the socket buffers it)."""

    def replaced(self) -> None:
        """A reconnect with the same id and token took the id: this socket is done."""


@dataclass(slots=True)
class Opened:
    claim: Claim
    queued: list[str] = field(default_factory=list)  # frames that waited, in order


class PeerjsRelay(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def open(
        self, key: str, peer_id: str, token: str, socket: PeerSocket, *, now: float, limit: int
    ) -> Opened:
        """Let ``socket`` hold ``peer_id`` (see :func:`peerlane.core.peerjs.claim`); on
        NEW or AGAIN, hand over the frames queued for it."""

    async def leave(self, key: str, peer_id: str, socket: PeerSocket) -> None:
        """``socket`` closed: the id is free, unless another socket took it over."""

    async def relay(self, key: str, src: str, frame: Frame, *, now: float) -> None:
        """Deliver ``frame`` to its peer wherever it is connected, or queue it."""

    async def expire(self, now: float, expire_timeout: float) -> int:
        """Drop the queues older than ``expire_timeout``, send their senders EXPIRE;
        how many EXPIREs were sent."""

    async def peer_ids(self, key: str, *, now: float) -> list[str]:
        """The ids connected under ``key`` (discovery)."""

    async def connected(self, *, now: float) -> int:
        """Peers connected, all keys, all instances (the concurrent limit's count)."""


class MemoryPeerjsRelay:
    def __init__(self, *, queue_limit: int = 100) -> None:
        self._queue_limit = queue_limit
        self._peers: dict[str, dict[str, tuple[str, PeerSocket]]] = {}  # key -> id -> holder
        self._queues: dict[str, Queues] = {}
        self._count = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def open(
        self, key: str, peer_id: str, token: str, socket: PeerSocket, *, now: float, limit: int
    ) -> Opened:
        peers = self._peers.setdefault(key, {})
        held = peers.get(peer_id)
        verdict = claim(
            None if held is None else held[0], token, connected=self._count, limit=limit
        )
        if verdict is Claim.TAKEN or verdict is Claim.FULL:
            return Opened(verdict)
        if held is None:
            self._count += 1
        elif held[1] is not socket:
            held[1].replaced()
        peers[peer_id] = (token, socket)
        queues = self._queues.get(key)
        return Opened(verdict, [] if queues is None else queues.take(peer_id))

    async def leave(self, key: str, peer_id: str, socket: PeerSocket) -> None:
        peers = self._peers.get(key)
        held = None if peers is None else peers.get(peer_id)
        if peers is not None and held is not None and held[1] is socket:
            del peers[peer_id]
            self._count -= 1

    async def relay(self, key: str, src: str, frame: Frame, *, now: float) -> None:
        peers = self._peers.get(key)
        held = None if peers is None else peers.get(frame.dst)
        if held is not None:
            held[1].deliver(frame.text)
        elif frame.type not in NOT_QUEUED:
            queues = self._queues.get(key)
            if queues is None:
                queues = self._queues[key] = Queues(limit=self._queue_limit)
            queues.add(frame.dst, src, frame.text, now)

    async def expire(self, now: float, expire_timeout: float) -> int:
        sent = 0
        for key, queues in self._queues.items():
            peers = self._peers.get(key, {})
            for src, text in queues.expire(now, expire_timeout):
                held = peers.get(src)
                if held is not None:  # an EXPIRE is never queued
                    held[1].deliver(text)
                    sent += 1
        return sent

    async def peer_ids(self, key: str, *, now: float) -> list[str]:
        return list(self._peers.get(key, {}))

    async def connected(self, *, now: float) -> int:
        return self._count

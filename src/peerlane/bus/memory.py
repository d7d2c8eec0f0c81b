"""The embedded bus: fan-out and presence inside one server process.

Each subscription has a bounded queue. A consumer that falls ``queue_size`` events
behind is cut off (``overflowed``) instead of slowing the whole room down: its
connection closes and the client resumes from storage, so nothing is lost. A consumer
that handles events without awaiting (the WebSocket driver) ``listen``s instead: each
event is handed to it in the publisher's call, with no queue and no task wake-up.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from peerlane.core import protocol as p
from peerlane.core.ratelimit import KeyedLimiter
from peerlane.core.records import new_id
from peerlane.core.session import RoomEvent


class MemorySubscription:
    def __init__(self, queue_size: int) -> None:
        self._queue: asyncio.Queue[RoomEvent | None] = asyncio.Queue(queue_size + 1)
        self._limit = queue_size
        self.overflowed = False
        self._listener: Callable[[RoomEvent | None], None] | None = None

    def listen(self, listener: Callable[[RoomEvent | None], None]) -> None:
        """From now on hand every event to ``listener`` as it is published, and None
        once the subscription ends (``overflowed`` tells why); events queued so far
        first, in order. The listener must not raise: it runs in the publisher's call."""
        while not self._queue.empty():
            queued = self._queue.get_nowait()
            listener(queued)
            if queued is None:
                return
        self._listener = listener

    def put(self, event: RoomEvent) -> None:
        if self.overflowed:
            return
        if self._listener is not None:
            self._listener(event)
            return
        if self._queue.qsize() >= self._limit:
            self.overflowed = True
            self._queue.put_nowait(None)  # the one slot kept free for the end marker
            return
        self._queue.put_nowait(event)

    def end(self) -> None:
        if not self.overflowed:
            self._finish()

    def _finish(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener(None)
        else:
            self._queue.put_nowait(None)

    def lose(self) -> None:
        """Events were lost upstream (the bus's connection dropped): end as an overflow
        does, so the connection closes and its client replays from storage."""
        if not self.overflowed:
            self.overflowed = True
            self._finish()  # in the queue: the slot kept free for the end marker

    def __aiter__(self) -> AsyncIterator[RoomEvent]:
        return self

    async def __anext__(self) -> RoomEvent:
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event


class MemoryBus:
    def __init__(self, *, queue_size: int = 4096) -> None:
        self.queue_size = queue_size
        self.instance = new_id(6)
        self._subscribers: defaultdict[str, set[MemorySubscription]] = defaultdict(set)
        self._peers: defaultdict[str, dict[str, p.PeerInfo]] = defaultdict(dict)
        self._limiters: dict[str, MemoryLimiter] = {}
        self._statuses: defaultdict[str, dict[str, str]] = defaultdict(dict)

    async def start(self) -> None:
        return None

    async def ready(self) -> bool:
        return True  # in this process: up whenever the server is

    async def close(self) -> None:
        for subs in self._subscribers.values():
            for sub in subs:
                sub.end()

    async def publish(self, event: RoomEvent) -> None:
        for sub in tuple(self._subscribers.get(event.room_id, ())):
            sub.put(event)

    @asynccontextmanager
    async def subscribe(self, room_id: str) -> AsyncIterator[MemorySubscription]:
        sub = MemorySubscription(self.queue_size)
        self._subscribers[room_id].add(sub)
        try:
            yield sub
        finally:
            subs = self._subscribers.get(room_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[room_id]

    async def add_peer(self, room_id: str, peer: p.PeerInfo) -> None:
        self._peers[room_id][peer.peer_id] = peer

    async def remove_peer(self, room_id: str, peer_id: str) -> None:
        peers = self._peers.get(room_id)
        if peers is not None:
            peers.pop(peer_id, None)
            if not peers:
                del self._peers[room_id]

    async def forget_peer(self, room_id: str, peer_id: str) -> None:
        pass  # one instance: the entry is the newer connection's already

    async def peers(self, room_id: str) -> list[p.PeerInfo]:
        return list(self._peers.get(room_id, {}).values())

    async def share_status(self, topic: str, name: str, value: str) -> None:
        self._statuses[topic][name] = value

    async def statuses(self, topic: str) -> dict[str, str]:
        return dict(self._statuses.get(topic, {}))

    def limiter(
        self, name: str, rate: float, burst: float, *, leased: bool = False
    ) -> MemoryLimiter:
        if name not in self._limiters:
            self._limiters[name] = MemoryLimiter(rate, burst)
        return self._limiters[name]


class MemoryLimiter:
    """The in-process limiter: this instance's buckets only."""

    def __init__(self, rate: float, burst: float) -> None:
        self._buckets = KeyedLimiter(rate, burst)

    async def take(self, key: str, now: float, cost: float = 1.0) -> float | None:
        return self._buckets.take(key, now, cost)

    async def peek(self, key: str, now: float, cost: float = 1.0) -> float | None:
        return self._buckets.peek(key, now, cost)

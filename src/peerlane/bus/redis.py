"""The scale-out bus: Redis pub/sub for fan-out, a Redis hash for presence.

One pub/sub connection per server instance: the first local subscriber of a room
subscribes its channel, the last one unsubscribes it, and a reader task hands each
event to the local subscriptions (the same bounded queues as the embedded bus, so a slow
consumer is cut off rather than slowing the room).

Presence entries carry an expiry that every instance refreshes for its own peers, so
the peers of an instance that crashed disappear within ``presence_ttl`` seconds.

Rate limits are token buckets in Redis hashes, updated by one Lua script (atomic), so
a client meets the same limit whichever instance it reaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from pydantic import TypeAdapter
from redis.commands.core import AsyncScript

from peerlane.bus.memory import MemorySubscription
from peerlane.core import protocol as p
from peerlane.core.peer_ids import PeerReplaced
from peerlane.core.records import new_id
from peerlane.core.session import RoomDeleted, RoomEvent, SessionEnded

_Internal = RoomDeleted | SessionEnded | PeerReplaced
_events: TypeAdapter[p.ServerMessage | _Internal] = TypeAdapter(p.ServerMessage | _Internal)


def _channel(room_id: str) -> str:
    return f"peerlane:room:{room_id}"


def _peers_key(room_id: str) -> str:
    return f"peerlane:peers:{room_id}"


def encode(event: RoomEvent) -> str:
    return json.dumps({"to": event.to, "exclude": event.exclude, "m": event.text})


def decode(room_id: str, data: str | bytes) -> RoomEvent:
    raw = json.loads(data)
    message = _events.validate_json(raw["m"])
    event = RoomEvent(room_id, message, to=raw["to"], exclude=raw["exclude"])
    event.__dict__["text"] = raw["m"]  # already serialized: reuse, don't dump again
    return event


class RedisBus:
    def __init__(self, url: str, *, queue_size: int = 4096, presence_ttl: float = 30.0) -> None:
        self.url = url
        self.queue_size = queue_size
        self.presence_ttl = presence_ttl
        self.instance = new_id(6)
        self._redis: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._local: defaultdict[str, set[MemorySubscription]] = defaultdict(set)
        self._mine: dict[str, dict[str, p.PeerInfo]] = defaultdict(dict)
        # Connections here holding each (room, peer id): two while a resumed connection
        # replaces an older one on the same instance (core.peer_ids).
        self._holders: Counter[tuple[str, str]] = Counter()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("RedisBus.start() was not called")
        return self._redis

    async def start(self) -> None:
        self._redis = aioredis.from_url(self.url, decode_responses=True)
        await self._redis.ping()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._tasks = [
            asyncio.create_task(self._read(), name="redis-bus-read"),
            asyncio.create_task(self._refresh(), name="redis-bus-presence"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for room_id, peers in self._mine.items():
            if peers:
                await self.redis.hdel(_peers_key(room_id), *peers)
        for subs in self._local.values():
            for sub in subs:
                sub.end()
        if self._pubsub is not None:
            await self._pubsub.aclose()
        await self.redis.aclose()

    # -- fan-out --

    async def publish(self, event: RoomEvent) -> None:
        await self.redis.publish(_channel(event.room_id), encode(event))

    @contextlib.asynccontextmanager
    async def subscribe(self, room_id: str) -> AsyncIterator[MemorySubscription]:
        sub = MemorySubscription(self.queue_size)
        local = self._local[room_id]
        if not local:
            await self._pubsub.subscribe(_channel(room_id))
            self._subscribed.set()
        local.add(sub)
        try:
            yield sub
        finally:
            local.discard(sub)
            if not local:
                del self._local[room_id]
                await self._pubsub.unsubscribe(_channel(room_id))

    async def _read(self) -> None:
        while True:
            await self._subscribed.wait()  # get_message fails before any subscription
            message = await self._pubsub.get_message(timeout=1.0)
            if message is None or message["type"] != "message":
                continue
            room_id = message["channel"].removeprefix("peerlane:room:")
            event = decode(room_id, message["data"])
            for sub in tuple(self._local.get(room_id, ())):
                sub.put(event)

    # -- presence --

    async def add_peer(self, room_id: str, peer: p.PeerInfo) -> None:
        self._mine[room_id][peer.peer_id] = peer
        self._holders[room_id, peer.peer_id] += 1
        await self.redis.hset(_peers_key(room_id), peer.peer_id, self._entry(peer))

    async def remove_peer(self, room_id: str, peer_id: str) -> None:
        self._release(room_id, peer_id)
        await self.redis.hdel(_peers_key(room_id), peer_id)

    async def forget_peer(self, room_id: str, peer_id: str) -> None:
        self._release(room_id, peer_id)

    def _release(self, room_id: str, peer_id: str) -> None:
        """One connection here no longer holds the entry; the last one stops refreshing it."""
        key = (room_id, peer_id)
        self._holders[key] -= 1
        if self._holders[key] > 0:
            return
        del self._holders[key]
        mine = self._mine.get(room_id)
        if mine is not None:
            mine.pop(peer_id, None)
            if not mine:
                del self._mine[room_id]

    async def peers(self, room_id: str) -> list[p.PeerInfo]:
        now = time.time()
        entries = await self.redis.hgetall(_peers_key(room_id))
        alive, stale = [], []
        for peer_id, value in entries.items():
            raw = json.loads(value)
            if raw["expires"] < now:
                stale.append(peer_id)
            else:
                alive.append(p.PeerInfo.model_validate(raw["peer"]))
        if stale:
            await self.redis.hdel(_peers_key(room_id), *stale)
        return alive

    def _entry(self, peer: p.PeerInfo) -> str:
        expires = time.time() + self.presence_ttl
        return json.dumps({"peer": peer.model_dump(), "expires": expires, "by": self.instance})

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.presence_ttl / 3)
            for room_id, peers in list(self._mine.items()):
                if peers:
                    mapping: dict[Any, Any] = {pid: self._entry(p) for pid, p in peers.items()}
                    await self.redis.hset(_peers_key(room_id), mapping=mapping)

    def limiter(self, name: str, rate: float, burst: float) -> RedisLimiter:
        return RedisLimiter(self, name, rate, burst)


# KEYS[1]: the bucket. ARGV: rate, burst, now, cost, spend ("1" or "0").
# Returns "" when allowed, else the seconds to wait (a string: Redis would truncate a
# Lua number to an integer). A clock behind the bucket's adds no tokens.
_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call("HMGET", KEYS[1], "tokens", "updated")
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
if now > updated then
  tokens = math.min(burst, tokens + (now - updated) * rate)
  updated = now
end
local allowed = tokens >= cost
if ARGV[5] == "1" then
  if allowed then tokens = tokens - cost end
  redis.call("HSET", KEYS[1], "tokens", tostring(tokens), "updated", tostring(updated))
  redis.call("PEXPIRE", KEYS[1], math.ceil((burst / rate + 1) * 1000))
end
if allowed then return "" end
return tostring((cost - tokens) / rate)
"""


class RedisLimiter:
    """Buckets in Redis under ``peerlane:limit:<name>:<key>``, gone once full again."""

    def __init__(self, bus: RedisBus, name: str, rate: float, burst: float) -> None:
        self._bus = bus
        self._name = name
        self._rate = rate
        self._burst = burst
        self._script: AsyncScript | None = None

    async def take(self, key: str, now: float, cost: float = 1.0) -> float | None:
        return await self._run(key, now, cost, spend=True)

    async def peek(self, key: str, now: float, cost: float = 1.0) -> float | None:
        return await self._run(key, now, cost, spend=False)

    async def _run(self, key: str, now: float, cost: float, *, spend: bool) -> float | None:
        if self._script is None:
            self._script = self._bus.redis.register_script(_TAKE)
        script = self._script
        args = [repr(self._rate), repr(self._burst), repr(now), repr(cost), "1" if spend else "0"]
        wait = await script(keys=[f"peerlane:limit:{self._name}:{key}"], args=args)
        return None if wait == "" else float(wait)

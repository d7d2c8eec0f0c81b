"""The scale-out bus: Redis pub/sub for fan-out, a Redis hash for presence.

One pub/sub connection per server instance: the first local subscriber of a room
subscribes its channel, the last one unsubscribes it, and a reader task hands each
event to the local subscriptions (the same bounded queues as the embedded bus, so a slow
consumer is cut off rather than slowing the room).

Presence entries carry an expiry that every instance refreshes for its own peers (every
third of ``presence_ttl``), so the peers of an instance that crashed disappear from peer
lists within ``presence_ttl`` seconds (the ``presence_ttl`` setting).

Redis may restart, even with an empty memory. Every command has bounded connect and
read times (the request then fails with ``unavailable``, 503). When the pub/sub
connection drops, events published meanwhile are lost, so every local subscription
ends as an overflowed one (its client reconnects and replays from storage) and a fresh
pub/sub connection is subscribed by the next subscribers. The presence refresh puts this
instance's entries back into an emptied Redis, and the rate-limit buckets start full.

Rate limits are token buckets in Redis hashes, updated by one Lua script (atomic), so
a client meets the same limit whichever instance it reaches; the per-frame ones are
leased in batches (bus.redis_limits).
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
import structlog
from pydantic import TypeAdapter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from peerlane.bus.memory import MemorySubscription
from peerlane.bus.redis_limits import LeasedRedisLimiter, RedisLimiter
from peerlane.bus.tasks import cancel_tasks
from peerlane.core import protocol as p
from peerlane.core.peer_ids import PeerReplaced
from peerlane.core.records import new_id
from peerlane.core.session import RoomDeleted, RoomEvent, SessionEnded

log = structlog.get_logger(__name__)

# Connections to Redis per instance (pub/sub's included); more concurrent commands queue.
POOL_CONNECTIONS = 100

_Internal = RoomDeleted | SessionEnded | PeerReplaced
_events: TypeAdapter[p.ServerMessage | _Internal] = TypeAdapter(p.ServerMessage | _Internal)


def _channel(room_id: str) -> str:
    return f"peerlane:room:{room_id}"


# Delete presence entries (KEYS[1]: the room's hash; ARGV[2..]: peer ids) only where
# this instance (ARGV[1]) wrote them: a peer that reconnected to another instance has
# that instance's entry now, which a late cleanup here must not take away.
_REMOVE_MINE = """
local removed = 0
for i = 2, #ARGV do
  local entry = redis.call('HGET', KEYS[1], ARGV[i])
  if entry and cjson.decode(entry)['by'] == ARGV[1] then
    removed = removed + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return removed
"""


def _peers_key(room_id: str) -> str:
    return f"peerlane:peers:{room_id}"


def _status_key(topic: str) -> str:
    return f"peerlane:status:{topic}"


def encode(event: RoomEvent) -> str:
    return json.dumps({"to": event.to, "exclude": event.exclude, "m": event.text})


def decode(room_id: str, data: str | bytes) -> RoomEvent:
    raw = json.loads(data)
    message = _events.validate_json(raw["m"])
    event = RoomEvent(room_id, message, to=raw["to"], exclude=raw["exclude"])
    event.__dict__["text"] = raw["m"]  # already serialized: reuse, don't dump again
    return event


class RedisBus:
    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 4096,
        presence_ttl: float = 30.0,
        connect_timeout: float = 5.0,
        command_timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.queue_size = queue_size
        self.presence_ttl = presence_ttl
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
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
        # No retries: a Redis that is down fails the command at once (a pooled connection
        # the server closed is replaced when taken from the pool, not by a retry), and a
        # pub/sub connection is never quietly reconnected over a gap in its events.
        # A blocking pool: a command that finds every pooled connection busy (a burst
        # of PeerJS frames, each checking a limit) waits for one, up to the command
        # timeout, instead of failing with "too many connections" as if Redis were down.
        pool = aioredis.BlockingConnectionPool.from_url(
            self.url,
            max_connections=POOL_CONNECTIONS,
            timeout=self.command_timeout,
            decode_responses=True,
            socket_connect_timeout=self.connect_timeout,
            socket_timeout=self.command_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._redis = aioredis.Redis.from_pool(pool)  # closes the pool with the client
        await self._redis.ping()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._tasks = [
            asyncio.create_task(self._read(), name="redis-bus-read"),
            asyncio.create_task(self._refresh(), name="redis-bus-presence"),
        ]

    async def close(self) -> None:
        await cancel_tasks(self._tasks)
        with contextlib.suppress(RedisError, OSError):  # Redis down: the entries expire
            for room_id, peers in self._mine.items():
                if peers:
                    await self._remove_mine(room_id, *peers)
        for subs in self._local.values():
            for sub in subs:
                sub.end()
        with contextlib.suppress(RedisError, OSError):
            if self._pubsub is not None:
                await self._pubsub.aclose()
            await self.redis.aclose()

    async def ready(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    # -- fan-out --

    async def publish(self, event: RoomEvent) -> None:
        await self.redis.publish(_channel(event.room_id), encode(event))

    @contextlib.asynccontextmanager
    async def subscribe(self, room_id: str) -> AsyncIterator[MemorySubscription]:
        sub = MemorySubscription(self.queue_size)
        pubsub, local = self._pubsub, self._local[room_id]
        if not local:
            await pubsub.subscribe(_channel(room_id))  # Redis down: raises, an outage
            self._subscribed.set()
        local.add(sub)
        try:
            yield sub
        finally:
            local.discard(sub)
            # After a lost connection ``local`` is no longer the room's set, and the
            # channel is not subscribed on the fresh pub/sub connection.
            if not local and self._local.get(room_id) is local:
                del self._local[room_id]
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.unsubscribe(_channel(room_id))

    async def _read(self) -> None:
        while True:
            await self._subscribed.wait()  # get_message fails before any subscription
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as exc:
                await self._lost(exc)
                continue
            if message is None or message["type"] != "message":
                continue
            room_id = message["channel"].removeprefix("peerlane:room:")
            event = decode(room_id, message["data"])
            for sub in tuple(self._local.get(room_id, ())):
                sub.put(event)

    async def _lost(self, exc: BaseException) -> None:
        """The pub/sub connection dropped (Redis restarted or unreachable): events of
        every subscribed room may have been missed. End every local subscription as an
        overflowed one (its connection closes with 1013 and the client replays from
        storage) and start over on a fresh connection, subscribed by the next
        subscribers (while Redis is down, their subscribe fails: ``unavailable``)."""
        log.warning("bus.connection_lost", error=type(exc).__name__)
        old, lost = self._pubsub, self._local
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self._local = defaultdict(set)
        self._subscribed.clear()
        for subs in lost.values():
            for sub in subs:
                sub.lose()
        with contextlib.suppress(RedisError, OSError):
            await old.aclose()

    # -- presence --

    async def add_peer(self, room_id: str, peer: p.PeerInfo) -> None:
        self._mine[room_id][peer.peer_id] = peer
        self._holders[room_id, peer.peer_id] += 1
        await self.redis.hset(_peers_key(room_id), peer.peer_id, self._entry(peer))

    async def remove_peer(self, room_id: str, peer_id: str) -> None:
        self._release(room_id, peer_id)
        await self._remove_mine(room_id, peer_id)

    async def _remove_mine(self, room_id: str, *peer_ids: str) -> None:
        await self.redis.eval(_REMOVE_MINE, 1, _peers_key(room_id), self.instance, *peer_ids)

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
            try:
                for room_id, peers in list(self._mine.items()):
                    if peers:
                        mapping: dict[Any, Any] = {pid: self._entry(p) for pid, p in peers.items()}
                        # Also puts the entries back into a Redis restarted empty.
                        await self.redis.hset(_peers_key(room_id), mapping=mapping)
            except (RedisError, OSError) as exc:  # down for now: try again next round
                log.warning("bus.presence_refresh_failed", error=type(exc).__name__)

    async def share_status(self, topic: str, name: str, value: str) -> None:
        await self.redis.hset(_status_key(topic), name, value)

    async def statuses(self, topic: str) -> dict[str, str]:
        entries = await self.redis.hgetall(_status_key(topic))
        return {str(name): str(value) for name, value in entries.items()}  # str already

    def limiter(
        self, name: str, rate: float, burst: float, *, leased: bool = False
    ) -> RedisLimiter | LeasedRedisLimiter:
        if leased:
            return LeasedRedisLimiter(self, name, rate, burst)
        return RedisLimiter(self, name, rate, burst)

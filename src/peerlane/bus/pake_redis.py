"""Join-by-code attempts across instances on Redis (the interface: ``bus.pake``).

Keys and channels:

- ``peerlane:pake:members:<room>`` hash: connection -> JSON ``{"ref", "since",
  "expires"}``. Each instance refreshes its own members' expiry every third of ``ttl``
  (the ``presence_ttl`` setting), so the members of an instance that died stop being
  listed, and stop being :meth:`~RedisPakeLink.alive`, within ``ttl``;
- channel ``peerlane:pake:inst:<instance>``: messages for that instance's handler;
- channel ``peerlane:pake:all``: messages for every instance's handler.

One pub/sub connection per instance reads both channels. Messages published to it
while the connection is down are lost: an attempt waiting for one then ends by its
own checks (the joiner's socket closing, or the member no longer alive).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import structlog
from redis.exceptions import RedisError

from peerlane.bus.pake import Handler, MemberRef
from peerlane.bus.redis import RedisBus
from peerlane.bus.tasks import cancel_tasks

log = structlog.get_logger(__name__)
_MEMBERS = "peerlane:pake:members:"
_INST = "peerlane:pake:inst:"
_ALL = "peerlane:pake:all"
RESUBSCRIBE_DELAY = 1.0  # seconds between tries to get a lost pub/sub connection back


class RedisPakeLink:
    def __init__(self, bus: RedisBus, *, ttl: float = 30.0) -> None:
        self._bus = bus
        self._ttl = ttl
        self.instance = bus.instance
        self.check_interval: float | None = ttl / 3
        self._handler: Handler | None = None
        self._mine: dict[str, tuple[MemberRef, float]] = {}  # connection -> (ref, since)
        self._pubsub: Any = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        await self._subscribe()
        self._tasks = [
            asyncio.create_task(self._read(), name="pake-link-read"),
            asyncio.create_task(self._refresh(), name="pake-link-refresh"),
        ]

    async def _subscribe(self) -> None:
        self._pubsub = self._bus.redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(_INST + self.instance, _ALL)

    async def close(self) -> None:
        await cancel_tasks(self._tasks)
        with contextlib.suppress(RedisError, OSError):  # Redis down: the entries expire
            for ref, _ in list(self._mine.values()):
                await self._bus.redis.hdel(_MEMBERS + ref.room_id, ref.connection)
            if self._pubsub is not None:
                await self._pubsub.aclose()
        self._mine.clear()

    def _entry(self, ref: MemberRef, since: float) -> str:
        expires = time.time() + self._ttl
        return json.dumps({"ref": ref.to_json(), "since": since, "expires": expires})

    async def add_member(self, member: MemberRef) -> None:
        since = time.time()
        self._mine[member.connection] = (member, since)
        await self._bus.redis.hset(
            _MEMBERS + member.room_id, member.connection, self._entry(member, since)
        )

    async def remove_member(self, member: MemberRef) -> None:
        self._mine.pop(member.connection, None)
        await self._bus.redis.hdel(_MEMBERS + member.room_id, member.connection)

    async def members(self, room_id: str) -> list[MemberRef]:
        now = time.time()
        entries = await self._bus.redis.hgetall(_MEMBERS + room_id)
        alive: list[tuple[float, MemberRef]] = []
        stale = []
        for connection, value in entries.items():
            raw = json.loads(value)
            if raw["expires"] < now:
                stale.append(connection)
            else:
                alive.append((raw["since"], MemberRef.from_json(raw["ref"])))
        if stale:
            await self._bus.redis.hdel(_MEMBERS + room_id, *stale)
        return [ref for _, ref in sorted(alive, key=lambda pair: pair[0])]

    async def alive(self, member: MemberRef) -> bool:
        value = await self._bus.redis.hget(_MEMBERS + member.room_id, member.connection)
        if value is None:
            return False
        raw = json.loads(value)
        return bool(raw["expires"] >= time.time() and MemberRef.from_json(raw["ref"]) == member)

    async def send(self, instance: str, message: dict[str, Any]) -> None:
        await self._bus.redis.publish(_INST + instance, json.dumps(message))

    async def broadcast(self, message: dict[str, Any]) -> None:
        await self._bus.redis.publish(_ALL, json.dumps(message))

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as exc:
                log.warning("pake_link.connection_lost", error=type(exc).__name__)
                await self._resubscribe()
                continue
            if message is None or message["type"] != "message" or self._handler is None:
                continue
            try:
                await self._handler(json.loads(message["data"]))
            except Exception:  # one bad message must not stop the reader
                log.exception("pake_link.handler_failed")

    async def _resubscribe(self) -> None:
        old = self._pubsub
        with contextlib.suppress(RedisError, OSError):
            await old.aclose()
        while True:
            try:
                await self._subscribe()
                return
            except (RedisError, OSError):
                await asyncio.sleep(RESUBSCRIBE_DELAY)  # Redis down: try again later

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                for ref, since in list(self._mine.values()):
                    # Also puts the entries back into a Redis restarted empty.
                    await self._bus.redis.hset(
                        _MEMBERS + ref.room_id, ref.connection, self._entry(ref, since)
                    )
            except (RedisError, OSError) as exc:  # down for now: try again next round
                log.warning("pake_link.refresh_failed", error=type(exc).__name__)

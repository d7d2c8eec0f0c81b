"""PeerJS peers across instances on Redis (the interface: ``bus.peerjs``).

Keys (``<addr>`` is ``<key>\\n<id>``; ids and keys are printable, so never hold a
newline):

- ``peerlane:peerjs:peers`` sorted set: addr -> expiry. Each instance refreshes its own
  peers' expiry, so the ids held by an instance that crashed come free within ``ttl``;
- ``peerlane:peerjs:holders`` hash: addr -> ``<instance>|<connection>|<token>``;
- ``peerlane:peerjs:q:<addr>`` list of ``<src>\\n<frame>``, and ``peerlane:peerjs:queues``
  sorted set: addr -> when its first frame was queued;
- channel ``peerlane:peerjs:inst:<instance>``: frames for the peers that instance holds
  (``<addr>\\n<frame>``), and ``\\0<addr>\\n<connection>``: that socket was replaced.

Claiming an id, relaying a frame (deliver or queue) and expiring queues are each one Lua
script, so a peer that connects while a frame is sent to it gets the frame exactly once,
live or from its queue, and one instance only sends each EXPIRE. A frame for a peer held
by this instance goes straight to its socket, without Redis.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redis.commands.core import AsyncScript

from peerlane.bus.peerjs import Opened, PeerSocket
from peerlane.bus.redis import RedisBus
from peerlane.bus.tasks import cancel_tasks
from peerlane.core.peerjs import NOT_QUEUED, Claim, Frame, Kind, expire_notices
from peerlane.core.records import new_id

_PEERS = "peerlane:peerjs:peers"
_HOLDERS = "peerlane:peerjs:holders"
_QUEUES = "peerlane:peerjs:queues"
_Q = "peerlane:peerjs:q:"
_INST = "peerlane:peerjs:inst:"

# KEYS: peers, holders, queues, queue. ARGV: addr, token, instance, connection, now,
# expiry, limit. Returns {verdict, previous holder or ""} .. queued entries.
_OPEN = """
local addr, token, now = ARGV[1], ARGV[2], tonumber(ARGV[5])
local stale = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now)
if #stale > 0 then
  redis.call("ZREM", KEYS[1], unpack(stale))
  redis.call("HDEL", KEYS[2], unpack(stale))
end
local holder = false
if redis.call("ZSCORE", KEYS[1], addr) then holder = redis.call("HGET", KEYS[2], addr) end
local verdict = "new"
if holder then
  local held = string.match(holder, "^[^|]*|[^|]*|(.*)$")
  if held ~= token then return {"taken", ""} end
  verdict = "again"
elseif redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[7]) then
  return {"full", ""}
end
redis.call("ZADD", KEYS[1], ARGV[6], addr)
redis.call("HSET", KEYS[2], addr, ARGV[3] .. "|" .. ARGV[4] .. "|" .. token)
local queued = redis.call("LRANGE", KEYS[4], 0, -1)
redis.call("DEL", KEYS[4])
redis.call("ZREM", KEYS[3], addr)
local out = {verdict, holder or ""}
for i = 1, #queued do out[#out + 1] = queued[i] end
return out
"""

# KEYS: peers, holders. ARGV: addr, "<instance>|<connection>|".
_LEAVE = """
local holder = redis.call("HGET", KEYS[2], ARGV[1])
if holder and string.sub(holder, 1, #ARGV[2]) == ARGV[2] then
  redis.call("HDEL", KEYS[2], ARGV[1])
  redis.call("ZREM", KEYS[1], ARGV[1])
end
return 0
"""

# KEYS: peers, holders, queues, queue. ARGV: addr, src, frame, now, queue it ("1"/"0"),
# queue limit. Returns 1 if delivered live, 0 if queued or dropped.
_RELAY = """
local score = redis.call("ZSCORE", KEYS[1], ARGV[1])
if score and tonumber(score) > tonumber(ARGV[4]) then
  local holder = redis.call("HGET", KEYS[2], ARGV[1])
  if holder then
    local instance = string.match(holder, "^([^|]*)|")
    redis.call("PUBLISH", "peerlane:peerjs:inst:" .. instance, ARGV[1] .. "\\n" .. ARGV[3])
    return 1
  end
end
if ARGV[5] == "1" and redis.call("LLEN", KEYS[4]) < tonumber(ARGV[6]) then
  redis.call("RPUSH", KEYS[4], ARGV[2] .. "\\n" .. ARGV[3])
  redis.call("ZADD", KEYS[3], "NX", ARGV[4], ARGV[1])
  redis.call("PEXPIRE", KEYS[4], 3600000)
end
return 0
"""

# KEYS: queues. ARGV: cutoff. Returns addr, n, n senders, addr, n, ...
_EXPIRE = """
local addrs = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
local out = {}
for _, addr in ipairs(addrs) do
  local q = "peerlane:peerjs:q:" .. addr
  local items = redis.call("LRANGE", q, 0, -1)
  redis.call("DEL", q)
  redis.call("ZREM", KEYS[1], addr)
  out[#out + 1] = addr
  out[#out + 1] = tostring(#items)
  for i = 1, #items do out[#out + 1] = string.match(items[i], "^([^\\n]*)") end
end
return out
"""


def _addr(key: str, peer_id: str) -> str:
    return f"{key}\n{peer_id}"


class RedisPeerjsRelay:
    def __init__(self, bus: RedisBus, *, queue_limit: int = 100, ttl: float = 30.0) -> None:
        self._bus = bus
        self._queue_limit = str(queue_limit)
        self._ttl = ttl
        self.instance = bus.instance
        self._local: dict[str, tuple[str, PeerSocket]] = {}  # addr -> (connection, socket)
        self._scripts: dict[str, AsyncScript] = {}
        self._pubsub: Any = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        redis = self._bus.redis
        for name, text in (("open", _OPEN), ("leave", _LEAVE), ("relay", _RELAY)):
            self._scripts[name] = redis.register_script(text)
        self._scripts["expire"] = redis.register_script(_EXPIRE)
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(_INST + self.instance)
        self._tasks = [
            asyncio.create_task(self._read(), name="peerjs-relay-read"),
            asyncio.create_task(self._refresh(), name="peerjs-relay-refresh"),
        ]

    async def close(self) -> None:
        await cancel_tasks(self._tasks)
        if self._local:
            await self._bus.redis.zrem(_PEERS, *self._local)
            await self._bus.redis.hdel(_HOLDERS, *self._local)
        if self._pubsub is not None:
            await self._pubsub.aclose()

    async def open(
        self, key: str, peer_id: str, token: str, socket: PeerSocket, *, now: float, limit: int
    ) -> Opened:
        addr = _addr(key, peer_id)
        connection = new_id(6)
        reply = await self._scripts["open"](
            keys=[_PEERS, _HOLDERS, _QUEUES, _Q + addr],
            args=[addr, token, self.instance, connection, repr(now), repr(now + self._ttl), limit],
        )
        verdict = Claim(reply[0])
        if verdict is Claim.TAKEN or verdict is Claim.FULL:
            return Opened(verdict)
        previous: str = reply[1]
        mine = self._local.get(addr)
        if mine is not None and mine[1] is not socket:
            mine[1].replaced()
        elif previous and not previous.startswith(f"{self.instance}|"):
            instance, old_connection, _ = previous.split("|", 2)
            await self._bus.redis.publish(_INST + instance, f"\0{addr}\n{old_connection}")
        self._local[addr] = (connection, socket)
        return Opened(verdict, [entry.partition("\n")[2] for entry in reply[2:]])

    async def leave(self, key: str, peer_id: str, socket: PeerSocket) -> None:
        addr = _addr(key, peer_id)
        mine = self._local.get(addr)
        if mine is None or mine[1] is not socket:
            return
        del self._local[addr]
        await self._scripts["leave"](
            keys=[_PEERS, _HOLDERS], args=[addr, f"{self.instance}|{mine[0]}|"]
        )

    async def relay(self, key: str, src: str, frame: Frame, *, now: float) -> None:
        addr = _addr(key, frame.dst)
        mine = self._local.get(addr)
        if mine is not None:
            mine[1].deliver(frame.text)
            return
        queue = "0" if frame.type in NOT_QUEUED else "1"
        await self._scripts["relay"](
            keys=[_PEERS, _HOLDERS, _QUEUES, _Q + addr],
            args=[addr, src, frame.text, repr(now), queue, self._queue_limit],
        )

    async def expire(self, now: float, expire_timeout: float) -> int:
        reply = await self._scripts["expire"](keys=[_QUEUES], args=[repr(now - expire_timeout)])
        sent, i = 0, 0
        while i < len(reply):
            addr, count = reply[i], int(reply[i + 1])
            key, _, dst = addr.partition("\n")
            senders = reply[i + 2 : i + 2 + count]
            i += 2 + count
            for src, text in expire_notices(dst, senders):
                await self.relay(key, dst, Frame(Kind.RELAY, "EXPIRE", src, text), now=now)
                sent += 1
        return sent

    async def peer_ids(self, key: str, *, now: float) -> list[str]:
        prefix = f"{key}\n"
        addrs: list[str] = await self._bus.redis.zrangebyscore(_PEERS, now, "+inf")  # type: ignore[assignment]
        return [a[len(prefix) :] for a in addrs if a.startswith(prefix)]

    async def connected(self, *, now: float) -> int:
        return int(await self._bus.redis.zcount(_PEERS, now, "+inf"))

    async def _read(self) -> None:
        while True:
            message = await self._pubsub.get_message(timeout=1.0)
            if message is None or message["type"] != "message":
                continue
            data: str = message["data"]
            if data.startswith("\0"):
                addr, _, connection = data[1:].rpartition("\n")
                mine = self._local.get(addr)
                if mine is not None and mine[0] == connection:
                    del self._local[addr]
                    mine[1].replaced()
                continue
            key, _, rest = data.partition("\n")
            peer_id, _, text = rest.partition("\n")
            mine = self._local.get(_addr(key, peer_id))
            if mine is not None:
                mine[1].deliver(text)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            if self._local:
                expiry = time.time() + self._ttl
                mapping: dict[Any, Any] = dict.fromkeys(self._local, expiry)
                await self._bus.redis.zadd(_PEERS, mapping, xx=True)

"""Rate limits on Redis: token buckets in hashes under ``peerlane:limit:<name>:<key>``,
updated by Lua scripts (atomic), so a client meets the same limit whichever instance it
reaches; a bucket's hash expires once it would be full again.

:class:`RedisLimiter` asks Redis on every take: exact, one round trip each, for the
limits checked once per request (room creation, joins, uploads). The per-frame limits
(PeerJS frames, chat messages) would pay that round trip on every frame, which made an
instance on Redis spend 5 times the CPU per relayed frame of one on the in-process bus, so
:class:`LeasedRedisLimiter` takes a lease (a tenth of the burst) from the same shared
bucket at once and spends it locally (core.ratelimit.LeasedBudget): a client spread over
K instances gets at most its limit plus K leases.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from redis.commands.core import AsyncScript

from peerlane.core.ratelimit import Borrow, LeasedBudget, lease_size

if TYPE_CHECKING:
    from peerlane.bus.redis import RedisBus

# The bucket's level at ``now`` (a clock behind the bucket's adds no tokens) into
# ``tokens`` and ``updated``; shared by both scripts. KEYS[1]: the bucket; ARGV[1..3]:
# rate, burst, now.
_LEVEL = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call("HMGET", KEYS[1], "tokens", "updated")
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
if now > updated then
  tokens = math.min(burst, tokens + (now - updated) * rate)
  updated = now
end
local function store(left)
  redis.call("HSET", KEYS[1], "tokens", tostring(left), "updated", tostring(updated))
  redis.call("PEXPIRE", KEYS[1], math.ceil((burst / rate + 1) * 1000))
end
"""

# ARGV[4]: cost, ARGV[5]: spend ("1" or "0"). Returns "" when allowed, else the seconds
# to wait (a string: Redis would truncate a Lua number to an integer).
_TAKE = (
    _LEVEL
    + """
local cost = tonumber(ARGV[4])
local allowed = tokens >= cost
if ARGV[5] == "1" then
  if allowed then tokens = tokens - cost end
  store(tokens)
end
if allowed then return "" end
return tostring((cost - tokens) / rate)
"""
)

# ARGV[4]: need, ARGV[5]: want. If the bucket holds ``need``, takes up to ``want`` and
# returns "g<tokens taken>"; else returns "w<seconds until it holds need>".
_LEASE = (
    _LEVEL
    + """
local need, want = tonumber(ARGV[4]), tonumber(ARGV[5])
if tokens < need then
  store(tokens)
  return "w" .. tostring((need - tokens) / rate)
end
local granted = math.min(tokens, want)
store(tokens - granted)
return "g" .. tostring(granted)
"""
)


class _Scripted:
    def __init__(self, bus: RedisBus, name: str, rate: float, burst: float) -> None:
        self._bus = bus
        self._name = name
        self._rate = rate
        self._burst = burst
        self._scripts: dict[str, AsyncScript] = {}

    async def _call(self, source: str, key: str, now: float, *args: str) -> str:
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self._bus.redis.register_script(source)
        keys = [f"peerlane:limit:{self._name}:{key}"]
        reply = await script(
            keys=keys, args=[repr(self._rate), repr(self._burst), repr(now), *args]
        )
        return str(reply)  # the client decodes replies to str already

    async def _take(self, key: str, now: float, cost: float, *, spend: bool) -> float | None:
        wait = await self._call(_TAKE, key, now, repr(cost), "1" if spend else "0")
        return None if wait == "" else float(wait)


class RedisLimiter(_Scripted):
    """Every take is one round trip to the shared bucket."""

    async def take(self, key: str, now: float, cost: float = 1.0) -> float | None:
        return await self._take(key, now, cost, spend=True)

    async def peek(self, key: str, now: float, cost: float = 1.0) -> float | None:
        return await self._take(key, now, cost, spend=False)


class LeasedRedisLimiter(_Scripted):
    """Takes spend this instance's lease on the shared bucket; one round trip per lease."""

    def __init__(self, bus: RedisBus, name: str, rate: float, burst: float) -> None:
        super().__init__(bus, name, rate, burst)
        self._budget = LeasedBudget(lease_size(burst))
        # One borrow in flight per key: concurrent takes of a key wait for it instead of
        # each taking a lease (which would let this instance hold more than one).
        # (An Event, not a Future: a waiter cancelled would cancel a shared Future.)
        self._borrowing: dict[str, asyncio.Event] = {}

    async def take(self, key: str, now: float, cost: float = 1.0) -> float | None:
        while True:
            decision = self._budget.take(key, now, cost)
            if not isinstance(decision, Borrow):
                return decision
            pending = self._borrowing.get(key)
            if pending is None:
                return await self._borrow(key, now, cost, decision)
            await pending.wait()

    async def peek(self, key: str, now: float, cost: float = 1.0) -> float | None:
        decision = self._budget.peek(key, now, cost)
        if not isinstance(decision, Borrow):
            return decision
        return await self._take(key, now, decision.need, spend=False)

    async def _borrow(self, key: str, now: float, cost: float, borrow: Borrow) -> float | None:
        done = asyncio.Event()
        self._borrowing[key] = done
        try:
            reply = await self._call(_LEASE, key, now, repr(borrow.need), repr(borrow.want))
            if reply.startswith("g"):
                return self._budget.settle(key, now, cost, float(reply[1:]), 0.0)
            return self._budget.settle(key, now, cost, 0.0, float(reply[1:]))
        finally:
            del self._borrowing[key]
            done.set()

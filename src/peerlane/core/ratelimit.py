"""Token buckets and failure counters with time passed in (no clock, no tasks)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens per second, up to ``burst``; :meth:`take` spends one if it can."""

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=burst, updated=now)

    def take(self, now: float, cost: float = 1.0) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def retry_after(self, cost: float = 1.0) -> float:
        """Seconds until :meth:`take` would succeed (after a failed take)."""
        return max(0.0, (cost - self.tokens) / self.rate) if self.rate > 0 else float("inf")


class KeyedLimiter:
    """One bucket per key (an IP address, a participant), bounded in memory.

    Beyond ``max_keys`` the fullest buckets are forgotten first (a forgotten key starts
    full again, so forgetting a full bucket changes nothing), the least recently used
    among equals. A bucket that is limiting — too empty to allow one more — is never
    forgotten: otherwise flooding the limiter with fresh keys (addresses are cheap)
    would reset the very clients it is holding back. If every bucket is limiting, the
    map grows instead; each such bucket cost its client a full burst, and refills
    (becoming forgettable) within ``burst / rate`` seconds.

    Forgetting works in batches (down to 90% of ``max_keys``), so its scan of every
    bucket is paid once per ``max_keys / 10`` new keys.
    """

    def __init__(self, rate: float, burst: float, *, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._next_prune = max_keys

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, now: float, cost: float = 1.0) -> float | None:
        """Spend from ``key``'s bucket; ``None`` if allowed, else seconds to wait."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket.full(self.rate, self.burst, now)
            self._buckets[key] = bucket
        else:
            self._buckets.move_to_end(key)
        allowed = bucket.take(now, cost)
        if len(self._buckets) > self._next_prune:
            self._prune(now)
        if allowed:
            return None
        return bucket.retry_after(cost)

    def peek(self, key: str, now: float, cost: float = 1.0) -> float | None:
        """Like :meth:`take` without spending: would ``key`` be allowed now?"""
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        tokens = self._level(bucket, now)
        if tokens >= cost:
            return None
        return (cost - tokens) / bucket.rate if bucket.rate > 0 else float("inf")

    def _level(self, bucket: TokenBucket, now: float) -> float:
        """The bucket's tokens at ``now``, without touching it (a clock behind adds none)."""
        return min(bucket.burst, bucket.tokens + max(0.0, now - bucket.updated) * bucket.rate)

    def _prune(self, now: float) -> None:
        target = self.max_keys - self.max_keys // 10
        excess = len(self._buckets) - target
        # Oldest first, so that among equally full buckets the least recently used go.
        levels = [(key, self._level(b, now)) for key, b in self._buckets.items()]
        evictable = [(key, level) for key, level in levels if level >= 1.0]
        evictable.sort(key=lambda item: item[1], reverse=True)  # stable: keeps LRU order
        for key, _ in evictable[:excess]:
            del self._buckets[key]
        # Still above the target (everything left is limiting): grow by a batch before
        # scanning again, so a map full of limiting buckets costs no scan per new key.
        self._next_prune = max(self.max_keys, len(self._buckets) + max(1, self.max_keys // 10))


# A leased limiter takes this share of the burst from the shared bucket at a time: one
# shared round trip per tenth of a burst, and a client spread over K instances gets at
# most its limit plus K tenths of a burst.
LEASE_SHARE = 0.1


def lease_size(burst: float) -> float:
    """How many tokens one lease takes from a shared bucket of ``burst``."""
    return max(1.0, burst * LEASE_SHARE)


@dataclass(frozen=True, slots=True)
class Borrow:
    """Ask the shared bucket for tokens: allowed if it has ``need``, then take up to
    ``want`` (the rest of a lease) and report the grant to :meth:`LeasedBudget.settle`."""

    need: float
    want: float


@dataclass(slots=True)
class _Lease:
    tokens: float = 0.0
    # A refusal from the shared bucket holds until then, for costs of at least
    # ``denied_cost``: nobody adds tokens to a shared bucket but time, so asking again
    # sooner would only cost a round trip.
    denied_until: float = float("-inf")
    denied_cost: float = float("inf")


class LeasedBudget:
    """One instance's leases on shared token buckets, one lease per key.

    A take spends from the key's local lease; when that runs short it returns a
    :class:`Borrow` for the driver to take from the shared bucket (the lease plus the
    take's own cost at once) and pass the answer to :meth:`settle`. Tokens leased are
    gone from the shared bucket, so over any window a client spends at most what the
    shared bucket allows plus what its instances held leased at the start: its limit
    plus one lease (``lease`` tokens) per instance. A lease nobody spends stays here
    until its key is forgotten (beyond ``max_keys``, least recently used first), when
    its tokens lapse: a client that moves to another instance can meet its limit up to
    one lease early, never late.
    """

    def __init__(self, lease: float, *, max_keys: int = 100_000) -> None:
        self.lease = lease
        self.max_keys = max_keys
        self._leases: OrderedDict[str, _Lease] = OrderedDict()

    def __len__(self) -> int:
        return len(self._leases)

    def take(self, key: str, now: float, cost: float = 1.0) -> float | Borrow | None:
        """``None`` if the lease covers ``cost`` (spent), seconds to wait if the shared
        bucket refused lately, else what to :class:`Borrow`."""
        lease = self._lease(key)
        if lease.tokens >= cost:
            lease.tokens -= cost
            return None
        return self._refusal(lease, now, cost) or Borrow(
            need=cost - lease.tokens, want=max(self.lease, cost) - lease.tokens
        )

    def peek(self, key: str, now: float, cost: float = 1.0) -> float | Borrow | None:
        """Like :meth:`take` without spending; a :class:`Borrow` here means: peek at the
        shared bucket for ``need`` tokens."""
        lease = self._leases.get(key)
        if lease is None:
            return Borrow(need=cost, want=cost)
        if lease.tokens >= cost:
            return None
        return self._refusal(lease, now, cost) or Borrow(
            need=cost - lease.tokens, want=cost - lease.tokens
        )

    def settle(
        self, key: str, now: float, cost: float, granted: float, wait: float
    ) -> float | None:
        """The shared bucket's answer to a :class:`Borrow`: ``granted`` tokens (0 when
        refused, with ``wait`` seconds until it would allow ``need``). Spends ``cost``
        if the grant covers it; ``None`` if allowed, else seconds to wait."""
        lease = self._lease(key)
        lease.tokens += granted
        if lease.tokens >= cost:
            lease.tokens -= cost
            return None
        lease.denied_until, lease.denied_cost = now + wait, cost
        return wait

    def _refusal(self, lease: _Lease, now: float, cost: float) -> float | None:
        if now < lease.denied_until and cost >= lease.denied_cost:
            return lease.denied_until - now
        return None

    def _lease(self, key: str) -> _Lease:
        lease = self._leases.get(key)
        if lease is None:
            lease = self._leases[key] = _Lease()
            if len(self._leases) > self.max_keys:
                self._leases.popitem(last=False)
        else:
            self._leases.move_to_end(key)
        return lease

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
    """One bucket per key (an IP address, a connection), bounded in memory.

    The oldest keys are forgotten beyond ``max_keys``; a forgotten key starts full again,
    which errs on the side of letting a rare client through rather than growing forever.
    """

    def __init__(self, rate: float, burst: float, *, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str, now: float, cost: float = 1.0) -> float | None:
        """Spend from ``key``'s bucket; ``None`` if allowed, else seconds to wait."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket.full(self.rate, self.burst, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        if bucket.take(now, cost):
            return None
        return bucket.retry_after(cost)

    def peek(self, key: str, now: float, cost: float = 1.0) -> float | None:
        """Like :meth:`take` without spending: would ``key`` be allowed now?"""
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        tokens = min(bucket.burst, bucket.tokens + (now - bucket.updated) * bucket.rate)
        if tokens >= cost:
            return None
        return (cost - tokens) / bucket.rate if bucket.rate > 0 else float("inf")

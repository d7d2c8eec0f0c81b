"""Token buckets and the keyed limiter; time is a number passed in."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peerlane.core.ratelimit import KeyedLimiter, TokenBucket


def test_full_bucket_allows_a_burst_then_refuses() -> None:
    bucket = TokenBucket.full(rate=2.0, burst=3.0, now=10.0)
    assert [bucket.take(10.0) for _ in range(4)] == [True, True, True, False]


def test_refill_and_retry_after() -> None:
    bucket = TokenBucket.full(rate=2.0, burst=3.0, now=0.0)
    for _ in range(3):
        bucket.take(0.0)
    assert not bucket.take(0.0)
    assert bucket.retry_after() == pytest.approx(0.5)
    assert not bucket.take(0.25)
    assert bucket.retry_after() == pytest.approx(0.25)
    assert bucket.take(0.5)
    assert not bucket.take(0.5)


def test_refill_is_capped_at_burst() -> None:
    bucket = TokenBucket.full(rate=2.0, burst=3.0, now=0.0)
    bucket.take(0.0)
    assert bucket.take(1000.0)
    assert bucket.tokens == pytest.approx(2.0)
    assert [bucket.take(1000.0) for _ in range(3)] == [True, True, False]


def test_cost() -> None:
    bucket = TokenBucket.full(rate=1.0, burst=5.0, now=0.0)
    assert bucket.take(0.0, cost=4)
    assert not bucket.take(0.0, cost=2)
    assert bucket.retry_after(cost=2) == pytest.approx(1.0)
    assert bucket.take(0.0, cost=1)


def test_retry_after_is_zero_with_tokens_and_infinite_without_rate() -> None:
    assert TokenBucket.full(rate=1.0, burst=1.0, now=0.0).retry_after() == 0.0
    empty = TokenBucket.full(rate=0.0, burst=1.0, now=0.0)
    empty.take(0.0)
    assert not empty.take(10**9)
    assert math.isinf(empty.retry_after())


@settings(deadline=None)
@given(
    st.floats(0.01, 100),
    st.integers(1, 20),
    st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=60),
)
def test_never_more_than_burst_plus_refill(rate: float, burst: int, steps: list[float]) -> None:
    bucket = TokenBucket.full(rate, burst, now=0.0)
    now, taken = 0.0, 0
    for step in steps:
        now += step
        if bucket.take(now):
            taken += 1
        else:
            # retry_after is honest: waiting that long is enough.
            wait = bucket.retry_after()
            assert wait > 0
            probe = TokenBucket(bucket.rate, bucket.burst, bucket.tokens, bucket.updated)
            assert probe.take(now + wait * 1.000001 + 1e-9)
        assert 0 <= bucket.tokens <= burst
    assert taken <= burst + rate * now + 1e-6


def test_keys_are_independent() -> None:
    limiter = KeyedLimiter(rate=1.0, burst=2.0)
    assert limiter.take("a", 0.0) is None
    assert limiter.take("a", 0.0) is None
    wait = limiter.take("a", 0.0)
    assert wait == pytest.approx(1.0)
    assert limiter.take("b", 0.0) is None
    assert limiter.take("a", 0.25) == pytest.approx(0.75)
    assert limiter.take("a", 1.0) is None


def test_oldest_keys_are_forgotten_beyond_max_keys() -> None:
    limiter = KeyedLimiter(rate=0.001, burst=1.0, max_keys=2)
    assert limiter.take("a", 0.0) is None
    assert limiter.take("a", 0.0) is not None  # a is spent
    limiter.take("b", 0.0)
    limiter.take("c", 0.0)  # three keys: a, the least recently used, is dropped
    assert limiter.peek("a", 0.0) is None
    assert limiter.take("a", 0.0) is None  # starts full again
    assert limiter.take("b", 0.0) is None  # b went when a came back


def test_recently_used_keys_are_kept() -> None:
    limiter = KeyedLimiter(rate=0.001, burst=1.0, max_keys=2)
    limiter.take("a", 0.0)
    limiter.take("b", 0.0)
    limiter.take("a", 0.0)  # a is now the most recently used
    limiter.take("c", 0.0)  # so b is dropped
    assert limiter.peek("a", 0.0) is not None
    assert limiter.peek("b", 0.0) is None
    assert limiter.peek("c", 0.0) is not None


def test_peek_does_not_spend() -> None:
    limiter = KeyedLimiter(rate=1.0, burst=1.0)
    assert limiter.peek("a", 0.0) is None  # unknown: would be allowed
    assert limiter.peek("a", 0.0) is None
    assert limiter.take("a", 0.0) is None  # peeking did not spend the one token
    assert limiter.peek("a", 0.0) == pytest.approx(1.0)
    assert limiter.peek("a", 0.5) == pytest.approx(0.5)
    for _ in range(5):
        assert limiter.peek("a", 1.0) is None
    assert limiter.take("a", 1.0) is None
    assert limiter.take("a", 1.0) is not None


def test_peek_of_unknown_key_creates_nothing() -> None:
    limiter = KeyedLimiter(rate=0.001, burst=1.0, max_keys=1)
    limiter.take("a", 0.0)
    for key in "bcdef":
        assert limiter.peek(key, 0.0) is None
    assert limiter.peek("a", 0.0) is not None  # still remembered: peeks took no room


def test_peek_without_rate() -> None:
    limiter = KeyedLimiter(rate=0.0, burst=1.0)
    limiter.take("a", 0.0)
    assert math.isinf(limiter.peek("a", 5.0) or 0.0)
    assert math.isinf(limiter.take("a", 5.0) or 0.0)

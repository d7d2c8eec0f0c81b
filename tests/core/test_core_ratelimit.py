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


def forgotten(limiter: KeyedLimiter, key: str, now: float) -> bool:
    """A forgotten key starts full: even a whole burst would be allowed."""
    return limiter.peek(key, now, cost=limiter.burst) is None


def test_the_fullest_keys_are_forgotten_first_oldest_among_equals() -> None:
    limiter = KeyedLimiter(rate=0.001, burst=3.0, max_keys=3)
    for _ in range(3):
        limiter.take("a", 0.0)  # a: empty, limiting
    limiter.take("b", 0.0)  # b: 2 left
    limiter.take("c", 0.0)
    limiter.take("c", 0.0)  # c: 1 left
    limiter.take("d", 0.0)  # d: 2 left, as full as b but newer: b goes
    assert len(limiter) == 3
    assert forgotten(limiter, "b", 0.0)
    assert not forgotten(limiter, "d", 0.0)
    assert limiter.take("a", 0.0) is not None  # the limiting one stays limited
    assert limiter.peek("c", 0.0) is None
    assert limiter.peek("c", 0.0, cost=2) is not None


def test_a_flood_of_new_keys_never_resets_a_limited_key() -> None:
    limiter = KeyedLimiter(rate=1 / 3600, burst=2.0)  # the default 100,000 keys
    assert limiter.take("victim", 0.0) is None
    assert limiter.take("victim", 0.0) is None
    assert limiter.take("victim", 0.0) is not None
    for i in range(150_000):  # an attacker's fresh addresses, one request each
        limiter.take(f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}", 1.0 + i / 1e6)
    assert limiter.take("victim", 2.0) is not None
    assert len(limiter) <= limiter.max_keys


def test_when_every_bucket_is_limiting_none_is_forgotten() -> None:
    limiter = KeyedLimiter(rate=0.001, burst=1.0, max_keys=10)
    for i in range(25):
        limiter.take(str(i), 0.0)
    assert len(limiter) == 25
    assert all(limiter.take(str(i), 0.0) is not None for i in range(25))


def test_a_refilled_bucket_can_be_forgotten_again() -> None:
    limiter = KeyedLimiter(rate=1.0, burst=1.0, max_keys=2)
    limiter.take("a", 0.0)
    limiter.take("b", 0.0)
    limiter.take("c", 5.0)  # a and b refilled by now: the older, a, goes
    assert len(limiter) == 2
    assert forgotten(limiter, "a", 5.0)


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

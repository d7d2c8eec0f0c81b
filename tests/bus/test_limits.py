"""Rate limits on the bus, on both back-ends: with Redis, instances share the buckets."""

from __future__ import annotations

import asyncio

import pytest

NOW = 1_000_000.0


async def test_a_burst_then_a_wait_that_refills(make_bus) -> None:
    limiter = (await make_bus()).limiter("t1", rate=0.5, burst=2)

    assert await limiter.take("1.2.3.4", NOW) is None
    assert await limiter.take("1.2.3.4", NOW) is None
    assert await limiter.take("1.2.3.4", NOW) == pytest.approx(2.0)
    assert await limiter.take("5.6.7.8", NOW) is None  # every key has its own bucket
    assert await limiter.take("1.2.3.4", NOW + 1) == pytest.approx(1.0)
    assert await limiter.take("1.2.3.4", NOW + 2) is None
    assert await limiter.take("1.2.3.4", NOW + 1000) is None  # refilled, never above burst
    assert await limiter.take("1.2.3.4", NOW + 1000) is None
    assert await limiter.take("1.2.3.4", NOW + 1000) is not None


async def test_peek_does_not_spend(make_bus) -> None:
    limiter = (await make_bus()).limiter("t2", rate=1 / 60, burst=1)

    assert await limiter.peek("k", NOW) is None
    assert await limiter.peek("k", NOW) is None
    assert await limiter.take("k", NOW) is None
    assert await limiter.peek("k", NOW) == pytest.approx(60.0)
    assert await limiter.peek("k", NOW + 60) is None


async def test_limits_are_shared_between_instances_and_separate_by_name(make_bus) -> None:
    # Two buses of the redis kind are two server instances on one Redis; the memory
    # kind is one process, so the same buckets either way.
    a, b = await make_bus(), await make_bus()
    rooms_a, rooms_b = a.limiter("rooms", 1 / 3600, 2), b.limiter("rooms", 1 / 3600, 2)

    assert await rooms_a.take("ip", NOW) is None
    assert await rooms_b.take("ip", NOW) is None
    assert await rooms_a.take("ip", NOW) is not None
    assert await rooms_b.take("ip", NOW) is not None
    assert await b.limiter("joins", 1 / 3600, 2).take("ip", NOW) is None


async def test_a_clock_behind_the_bucket_adds_no_tokens(make_bus) -> None:
    limiter = (await make_bus()).limiter("t3", rate=1, burst=1)

    assert await limiter.take("k", NOW) is None
    assert await limiter.take("k", NOW - 5) is not None  # another instance's slow clock
    assert await limiter.take("k", NOW + 1) is None


async def test_byte_sized_buckets(make_bus) -> None:
    """Daily upload allowances are buckets of bytes: tens of GiB, costs of any size."""
    day, gib = 86_400.0, 1024**3
    limiter = (await make_bus()).limiter("t4", rate=50 * gib / day, burst=50 * gib)

    assert await limiter.take("ip", NOW, 30 * gib + 12_345) is None
    assert await limiter.peek("ip", NOW, 20 * gib) is not None  # 12 345 bytes short
    assert await limiter.take("ip", NOW, 20 * gib - 12_345) is None
    wait = await limiter.take("ip", NOW, gib)
    assert wait == pytest.approx(day / 50, rel=1e-6)  # one GiB comes back in 1/50 day
    assert await limiter.take("ip", NOW + day / 50 + 1, gib) is None


async def test_more_concurrent_commands_than_pooled_connections_wait_instead_of_failing(
    make_bus,
) -> None:
    # A busy instance awaits many limiter checks at once (every PeerJS frame takes one):
    # with Redis, more of them than the connection pool holds must queue for a
    # connection, not fail as if Redis were down (the socket would be closed with 1013).
    limiter = (await make_bus()).limiter("t-many", rate=1000, burst=1000)

    waits = await asyncio.gather(*(limiter.take(f"k{i % 50}", NOW) for i in range(600)))
    assert waits == [None] * 600


async def _allowed(limiters: list, key: str, now: float, tries: int) -> int:
    """Takes spread round-robin over ``limiters`` (instances): how many were allowed."""
    waits = [await limiters[i % len(limiters)].take(key, now) for i in range(tries)]
    return waits.count(None)


async def test_a_leased_limit_allows_the_burst_on_one_instance(make_bus) -> None:
    limiter = (await make_bus()).limiter("t-lease1", rate=1, burst=50, leased=True)

    assert await _allowed([limiter], "k", NOW, 80) == 50
    assert await limiter.take("k", NOW) == pytest.approx(1.0)
    assert await limiter.peek("k", NOW) == pytest.approx(1.0)
    assert await limiter.take("k", NOW + 1) is None
    assert await limiter.peek("k", NOW + 1) is not None


async def test_a_client_on_two_instances_gets_at_most_its_limit_plus_two_leases(
    make_bus,
) -> None:
    """Leases are a tenth of the burst: 10 tokens here."""
    burst, lease = 100, 10
    a, b = await make_bus(), await make_bus()
    limiters = [a.limiter("t-lease2", 1, burst, leased=True)]
    limiters.append(b.limiter("t-lease2", 1, burst, leased=True))
    assert await _allowed(limiters, "k", NOW, 10) == 10  # each instance keeps 5 leased

    later = NOW + burst  # the shared bucket is full again
    allowed = await _allowed(limiters, "k", later, 3 * burst)
    assert burst <= allowed <= burst + 2 * lease
    assert await limiters[0].take("k", later) is not None
    assert await limiters[1].take("k", later) is not None


async def test_concurrent_takes_of_one_key_borrow_one_lease_at_a_time(make_bus) -> None:
    limiter = (await make_bus()).limiter("t-lease3", rate=1, burst=40, leased=True)

    waits = await asyncio.gather(*(limiter.take("k", NOW) for _ in range(60)))
    assert waits.count(None) == 40


async def test_leased_takes_reach_redis_once_per_lease(redis_url: str) -> None:
    import redis as sync_redis

    from peerlane.bus.redis import RedisBus

    bus = RedisBus(redis_url)
    await bus.start()
    stats = sync_redis.Redis.from_url(redis_url)
    try:
        limiter = bus.limiter("t-lease4", rate=1000, burst=1000, leased=True)  # leases of 100
        before = stats.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
        assert await _allowed([limiter], "k", NOW, 500) == 500
        # Concurrent takes of one key wait for the borrow in flight.
        waits = await asyncio.gather(*(limiter.take("k", NOW) for _ in range(400)))
        assert waits == [None] * 400
        after = stats.info("commandstats")["cmdstat_evalsha"]["calls"]
        assert after - before <= 10  # 9 leases (and a script load's retry at most)
    finally:
        await bus.close()
        stats.close()


async def test_a_take_cancelled_while_waiting_for_a_borrow_leaves_the_borrow_alone(
    redis_url: str,
) -> None:
    from peerlane.bus.redis import RedisBus

    bus = RedisBus(redis_url)
    await bus.start()
    try:
        limiter = bus.limiter("t-lease5", rate=1, burst=40, leased=True)
        borrowing = asyncio.create_task(limiter.take("k", NOW))
        waiting = asyncio.create_task(limiter.take("k", NOW))
        await asyncio.wait([waiting], timeout=0)  # both run up to their first await
        waiting.cancel()
        assert await borrowing is None
        assert await limiter.take("k", NOW) is None
        with pytest.raises(asyncio.CancelledError):
            await waiting
    finally:
        await bus.close()

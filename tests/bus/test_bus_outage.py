"""The bus while Redis is down and after it comes back empty (no persistence)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.exceptions import RedisError

from balancer import RedisProcess
from peerlane.bus.redis import RedisBus
from peerlane.core import protocol as p
from peerlane.core.session import RoomEvent
from peerlane.server.outages import is_outage
from support import TIMEOUT


def chat(seq: int) -> p.Message:
    return p.Message(seq=seq, id=f"m{seq}", sender="s", sender_name="S", ts=1.0, body=seq)


def peer(peer_id: str) -> p.PeerInfo:
    return p.PeerInfo(peer_id=peer_id, participant_id="p" + peer_id, name=peer_id, role="member")


async def test_a_bus_is_ready_while_its_back_end_is_up(make_bus: Any) -> None:
    bus = await make_bus()
    assert await bus.ready()


@pytest.fixture
async def restartable() -> AsyncIterator[RedisProcess]:
    server = await asyncio.to_thread(lambda: RedisProcess().start())
    yield server
    await asyncio.to_thread(server.close)


async def test_redis_restarted_empty_ends_subscriptions_and_the_bus_recovers(
    restartable: RedisProcess,
) -> None:
    ttl = 0.6  # presence refreshed every 0.2 s
    one = RedisBus(restartable.url, presence_ttl=ttl, connect_timeout=1.0)
    two = RedisBus(restartable.url, presence_ttl=ttl, connect_timeout=1.0)
    await one.start()
    await two.start()
    try:
        await one.add_peer("r", peer("a"))
        async with one.subscribe("r") as sub:
            await two.publish(RoomEvent("r", chat(1)))
            first = await asyncio.wait_for(anext(aiter(sub)), TIMEOUT)
            assert first.message == chat(1)

            await asyncio.to_thread(restartable.kill)

            # Events may be missed now: the subscription ends as an overflowed one (its
            # connection closes with 1013 and the client replays from storage).
            async def rest() -> list[RoomEvent]:
                return [e async for e in sub]

            assert await asyncio.wait_for(rest(), TIMEOUT) == []  # ends, not waits
            assert sub.overflowed
        assert not await one.ready()
        started = time.monotonic()
        with pytest.raises((RedisError, OSError)) as failed:
            await two.publish(RoomEvent("r", chat(2)))
        assert is_outage(failed.value), failed.value
        assert time.monotonic() - started < 3.0  # fails fast

        await asyncio.to_thread(restartable.start)  # empty: no persistence
        assert await one.ready()
        # A fresh subscription on the instance that lost its connection gets events.
        async with one.subscribe("r") as sub:
            await two.publish(RoomEvent("r", chat(3)))
            again = await asyncio.wait_for(anext(aiter(sub)), TIMEOUT)
            assert again.message == chat(3)
        # The presence refresh wrote this instance's peer back into the empty Redis.
        deadline = time.monotonic() + TIMEOUT
        while [x.peer_id for x in await two.peers("r")] != ["a"]:
            assert time.monotonic() < deadline, "presence not restored"
            await asyncio.sleep(0.05)  # polling Redis for the refresh's write
    finally:
        await one.close()
        await two.close()

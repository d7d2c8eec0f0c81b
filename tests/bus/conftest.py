"""The bus suite runs on both back-ends: the in-process bus and a real Redis server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis

from peerlane.bus.base import Bus
from peerlane.bus.memory import MemoryBus
from peerlane.bus.redis import RedisBus


@pytest.fixture(params=["memory", "redis"])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    """A factory of started buses of one kind; two buses of the redis kind share a
    server, as two server instances would."""
    made: list[Bus] = []

    async def make(**kwargs: object) -> Bus:
        if request.param == "memory":
            if made:
                return made[0]  # in-process: one bus is the whole world
            bus: Bus = MemoryBus(**kwargs)  # type: ignore[arg-type]
        else:
            url = request.getfixturevalue("redis_url")
            bus = RedisBus(url, **kwargs)  # type: ignore[arg-type]
        await bus.start()
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()
    if request.param == "redis":
        redis.Redis.from_url(request.getfixturevalue("redis_url")).flushall()

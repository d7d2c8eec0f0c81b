"""The bus suite runs on both back-ends: the in-process bus and a real Redis server."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from peerlane.bus.base import Bus
from peerlane.bus.memory import MemoryBus
from peerlane.bus.redis import RedisBus
from support import free_port


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server on loopback, no persistence, stopped at the end."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; run `make system-deps` (apt: redis-server)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="peerlane-redis-")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.02)  # waiting for a port to open: there is no event to wait on
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


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

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import httpx
import pytest
from hypothesis import settings

import services
from peerlane.storage.sql import SqlStore
from services import PgServer, create_database
from support import ServerProcess

if TYPE_CHECKING:
    from balancer import Cluster

T = TypeVar("T")

# No wall-clock deadline for property tests: on a shared, loaded 2-core machine one example
# of AES-GCM or scrypt can take 300 ms, and a deadline then fails a correct test.
settings.register_profile("peerlane", deadline=None)
settings.load_profile("peerlane")


@pytest.fixture(autouse=True)
def _own_config_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's config directory (its identity key, the members' keys it remembers) is
    a fresh one per test, never the account's ~/.config: commands the tests run inherit
    it (a test may still give its own)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh server process with its own data directory (SQLite)."""
    proc = ServerProcess(tmp_path / "data").start()
    yield proc
    proc.stop()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def pg_server() -> Iterator[services.PgServer]:
    """A PostgreSQL server for the whole session (started on first use)."""
    with services.pg_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis server for the whole session (started on first use)."""
    with services.redis_server() as url:
        yield url


def _in_thread(function: Callable[..., T], *args: Any) -> T:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


@pytest.fixture
def cluster_of(tmp_path: Path, pg_server: PgServer) -> Iterator[Callable[..., Cluster]]:
    """Clusters of N instances behind nginx, each on a fresh database and its own Redis
    (the rate-limit buckets of one test must not meet another's)."""
    from balancer import Cluster, RedisProcess  # nginx, Redis: only these tests need them

    started: list[tuple[Cluster, RedisProcess]] = []

    def make(count: int, **env: str) -> Cluster:
        redis_server = RedisProcess().start()
        cluster = Cluster(
            tmp_path / f"cluster{len(started)}",
            count,
            # In its own thread: asyncio.run() refuses to run where Playwright's sync
            # API keeps an event loop going (the browser tests behind nginx).
            database_url=_in_thread(create_database, pg_server),
            redis_url=redis_server.url,
            env=env,
        )
        started.append((cluster, redis_server))
        return cluster.start()

    yield make
    for cluster, redis_server in started:
        cluster.stop()
        redis_server.close()


@pytest.fixture
async def pg_database(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A fresh, empty database on the session's server; its URL."""
    server: PgServer = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                  database="postgres")  # fmt: skip
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield server.url(name)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database, once per back-end. (Synchronous, so it may pull in
    the async ``pg_database`` fixture on demand: only the PostgreSQL runs need it.)"""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'peerlane.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:
    """A started (migrated) store on an empty database."""
    s = SqlStore(store_url)
    await s.start()
    try:
        yield s
    finally:
        await s.close()

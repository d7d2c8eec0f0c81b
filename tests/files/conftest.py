"""Fixtures for the file tests: module-scoped server processes (they are the slow
part), a raw tus client over httpx, and a store on both database back-ends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from peerlane.storage.sql import SqlStore
from services import PgServer
from support import ServerProcess

# Tests create many rooms and shares from one address.
RELAXED_LIMITS = {
    "PEERLANE_ROOMS_PER_HOUR": "100000",
    "PEERLANE_JOINS_PER_MINUTE": "100000",
    "PEERLANE_SHARES_PER_HOUR": "100000",
}


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """Extra environment of the module's server; a module overrides it for its limits."""
    return {}


@pytest.fixture(scope="module")
def fserver(
    tmp_path_factory: pytest.TempPathFactory, server_env: dict[str, str]
) -> Iterator[ServerProcess]:
    """One server process per test module (SQLite, files in its data directory)."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("files") / "data", env={**RELAXED_LIMITS, **server_env}
    ).start()
    yield proc
    proc.stop()


@pytest.fixture
def fhttp(fserver: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fserver.base, timeout=30) as client:
        yield client


# -- both database back-ends, as in tests/storage --


@pytest.fixture
async def pg_database(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    server: PgServer = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host=server.host, port=server.port, user=server.user, database="postgres"
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield server.url(name)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'peerlane.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:
    s = SqlStore(store_url)
    await s.start()
    try:
        yield s
    finally:
        await s.close()

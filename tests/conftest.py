from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import services
from support import ServerProcess


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

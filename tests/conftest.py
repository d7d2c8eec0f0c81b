from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
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

"""Fixtures for the integration suite: real server processes with chosen settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from support import ServerProcess


def settings_env(settings: dict[str, object]) -> dict[str, str]:
    """``{"code_max_failures": 3}`` → ``{"PEERLANE_CODE_MAX_FAILURES": "3"}``."""
    return {f"PEERLANE_{name.upper()}": str(value) for name, value in settings.items()}


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start a server with settings given as keyword arguments (each becomes the
    ``PEERLANE_<NAME>`` variable); every server started is stopped at the end."""
    started: list[ServerProcess] = []

    def start(**settings: object) -> ServerProcess:
        proc = ServerProcess(tmp_path / f"data{len(started)}", env=settings_env(settings))
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def client() -> Iterator[Callable[[ServerProcess], httpx.Client]]:
    """Make an HTTP client for a server (closed at the end of the test)."""
    clients: list[httpx.Client] = []

    def make(server: ServerProcess) -> httpx.Client:
        c = httpx.Client(base_url=server.base, timeout=10)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()

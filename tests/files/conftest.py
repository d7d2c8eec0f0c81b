"""Fixtures for the file tests: module-scoped server processes (they are the slow
part), a raw tus client over httpx, and a store on both database back-ends."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from support import ServerProcess

# Tests create many rooms and shares from one address.
RELAXED_LIMITS = {
    "PEERLANE_ROOMS_PER_HOUR": "100000",
    "PEERLANE_JOINS_PER_MINUTE": "100000",
    "PEERLANE_SHARES_PER_HOUR": "100000",
    "PEERLANE_UPLOADS_PER_HOUR": "100000",
    "PEERLANE_UPLOAD_BURST": "100000",
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

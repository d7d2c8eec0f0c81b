"""Real back-end servers for tests: PostgreSQL and Redis on loopback, started from
Debian's binaries in temporary directories and removed afterwards. A missing binary
fails the test with the package to install (``make test`` installs them); it never
skips."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import redis

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
# Durability is pointless for a server that is deleted after the run.
PG_FAST_SETTINGS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str = "postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"


def _pg_bindir() -> Path:
    """The newest installed PostgreSQL's bin dir; fails (not skips) if there is none."""
    found = [Path(d) for d in glob.glob(PG_BIN_GLOB) if (Path(d) / "pg_ctl").exists()]
    if not found:
        pytest.fail(
            f"PostgreSQL server binaries not found ({PG_BIN_GLOB}/pg_ctl). The storage tests "
            "need them: run `apt-get install -y postgresql` (`make test` does this).",
            pytrace=False,
        )
    return max(found, key=lambda d: int(d.parent.name.split(".")[0]))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(cmd: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = log.read_text() if log is not None and log.exists() else ""
        pytest.fail(
            f"{what} failed ({done.returncode}): {done.stdout}{done.stderr}{detail}",
            pytrace=False,
        )


@contextlib.contextmanager
def pg_server() -> Iterator[PgServer]:
    """Start a PostgreSQL server on a free loopback port; stop and delete it at the end.

    PostgreSQL refuses to run as root, so as root the server runs as the ``postgres``
    user that Debian's package creates, in a directory it owns (pytest's own tmp dirs
    are private to root).
    """
    bindir = _pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="peerlane-pg-"))
    data, log = root / "data", root / "server.log"
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    pg_ctl = [*as_owner, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        _run(
            [*as_owner, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--no-sync", "--no-instructions", "-E", "UTF8"],
            "initdb",
        )  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {PG_FAST_SETTINGS}"
        _run(
            [*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "60", "start"], "pg_ctl start", log
        )
        yield PgServer(host="127.0.0.1", port=port)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on loopback without persistence; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; run `make system-deps` (apt: redis-server)")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="peerlane-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.02)  # waiting for a port to open: there is no event to wait on
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def create_database(server: PgServer) -> str:
    """A new empty database on ``server``; returns its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        admin = await asyncpg.connect(
            host=server.host, port=server.port, user=server.user, database="postgres"
        )
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    asyncio.run(create())
    return server.url(name)

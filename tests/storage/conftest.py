"""Fixtures: every store test runs on SQLite (a file in tmp_path) and on a real,
throwaway PostgreSQL server started once per session from Debian's binaries."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from peerlane.core.codes import random_words
from peerlane.core.records import Invite, Participant, Retention, Room, new_id
from peerlane.storage.sql import SqlStore

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


@pytest.fixture(scope="session")
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


NOW = 1_000_000.0
HOUR = 3600.0


class Make:
    """Builds records for tests; every call gets fresh ids."""

    def room(self, *, now: float = NOW, retention: Retention | None = None) -> Room:
        return Room(
            id=new_id(),
            name="Test room",
            owner_id=new_id(),
            created_at=now,
            last_active_at=now,
            last_seq=0,
            retention=retention or Retention(),
        )

    def owner(self, room: Room) -> Participant:
        return Participant(
            id=room.owner_id,
            room_id=room.id,
            name="Owner",
            role="owner",
            created_at=room.created_at,
        )

    def member(self, room_id: str, *, name: str = "Member", now: float = NOW) -> Participant:
        return Participant(id=new_id(), room_id=room_id, name=name, role="member", created_at=now)

    def invite(
        self,
        room: Room,
        *,
        now: float = NOW,
        ttl: float = HOUR,
        max_uses: int | None = None,
    ) -> Invite:
        return Invite(
            id=new_id(),
            room_id=room.id,
            token=new_id(24),
            nameplate=None,
            words=random_words(),
            created_by=room.owner_id,
            created_at=now,
            expires_at=now + ttl,
            max_uses=max_uses,
        )

    async def new_room(
        self,
        store: SqlStore,
        *,
        now: float = NOW,
        retention: Retention | None = None,
        max_uses: int | None = None,
    ) -> tuple[Room, Invite]:
        """A stored room with its owner and first invite."""
        room = self.room(now=now, retention=retention)
        invite = await store.create_room(
            room, self.owner(room), self.invite(room, now=now, max_uses=max_uses)
        )
        return room, invite


@pytest.fixture
def make() -> Make:
    return Make()

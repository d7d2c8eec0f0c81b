"""Creating the async engine, with the few settings that differ per dialect.

Everything dialect-specific in the storage layer lives here; the SQL in
:mod:`peerlane.storage.sql` is the same for SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# Execution option marking a connection whose transactions will write (see _begin).
WRITE_OPTION = "peerlane_write"

SQLITE_PRAGMAS = (
    # Readers never block the writer and vice versa.
    "PRAGMA journal_mode=WAL",
    # An ack promises the message is stored, so every commit is synced to disk before it
    # returns. With NORMAL in WAL the last commits before a power cut or an OS crash can
    # be lost (only the checkpoints sync). With the chat appends' group commit this is one
    # fsync per batch, not per message (docs/benchmarks.md has the cost).
    "PRAGMA synchronous=FULL",
    # Off by default in SQLite: without it ON DELETE CASCADE does nothing.
    "PRAGMA foreign_keys=ON",
    # Wait for another process's write lock instead of failing at once.
    "PRAGMA busy_timeout=5000",
)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(
    url: str, *, connect_timeout: float = 5.0, command_timeout: float = 30.0
) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).

    hide_parameters: a database error would otherwise print the statement's parameters
    (invite tokens, code hashes, names) into tracebacks and logs.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(url, hide_parameters=True)
        _setup_sqlite(engine)
        return engine
    # A PostgreSQL that is down or unreachable must fail a request fast (503
    # `unavailable`), not hang it: bounded connect and statement times, and a bounded
    # wait for a pooled connection. That wait is the statement bound, not the connect
    # bound: under a burst the pool is busy with statements that end (each within
    # command_timeout), and a dead server fails its connects within connect_timeout
    # anyway; five seconds turned a busy moment into 503s.
    # pre_ping: a restarted PostgreSQL leaves dead connections in the pool.
    engine = create_async_engine(
        url,
        pool_pre_ping=True,
        pool_timeout=command_timeout,
        hide_parameters=True,
        connect_args={"timeout": connect_timeout, "command_timeout": command_timeout},
    )
    _setup_postgresql(engine)
    return engine


def _setup_postgresql(engine: AsyncEngine) -> None:
    """Keep every commit durable: an ack promises the message is stored.

    PostgreSQL's default, ``synchronous_commit=on``, waits for the commit's WAL to reach
    the disk. A server (or role, or database) configured with ``off`` acknowledges
    commits it can still lose in a crash, so such a connection turns it back on for
    itself. The other values (``local``, ``remote_write``, ``on``, ``remote_apply``) all
    flush locally and are left as the operator set them.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(_durable_commits)


async def _durable_commits(conn: Any) -> None:
    # On the raw asyncpg connection, outside any transaction: the SET lasts for the session.
    if await conn.fetchval("SHOW synchronous_commit") == "off":
        await conn.execute("SET synchronous_commit TO on")


def _setup_sqlite(engine: AsyncEngine) -> None:
    """Take transaction control away from Python's sqlite3 module.

    In its legacy mode sqlite3 starts a transaction only at the first INSERT/UPDATE/
    DELETE, so SELECTs before it see no snapshot and DDL autocommits. Instead we turn
    that off and emit BEGIN ourselves (the recipe in SQLAlchemy's SQLite docs). Write
    transactions use BEGIN IMMEDIATE, which takes the write lock up front: a deferred
    transaction that reads first and writes later can fail with SQLITE_BUSY when it
    tries to upgrade its lock, and busy_timeout does not help in that case.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:
        writes = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

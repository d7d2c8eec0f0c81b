"""Storing chat messages on SQLite: many at a time, in one thread hop.

Appending is the hot path of a busy room. Through SQLAlchemy on aiosqlite one append
took 16 trips between the event loop and aiosqlite's thread (BEGIN, SELECT, UPDATE,
INSERT, COMMIT, each with its cursor, fetch and close), and every trip waited for the
loop whenever it was busy fanning messages out. docs/benchmarks.md has the numbers.

Here every append that is waiting when the writer gets its turn is stored in one
transaction, by one plain function on a dedicated ``sqlite3`` connection and thread.
The store's write lock still orders these transactions with every other write, so
SQLite never sees two writers from this process. The SQL is the same as the generic
path in :mod:`.sql` (duplicate check, ``UPDATE rooms ... RETURNING``, INSERT), built
once from the same tables; the result of each append is what that path would return.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from sqlalchemy import bindparam, insert, literal_column, select, update
from sqlalchemy.dialects import sqlite

from peerlane.core.records import MessageKind, StoredMessage
from peerlane.errors import ConflictError, ErrorCode, NotFoundError
from peerlane.storage.engine import SQLITE_PRAGMAS
from peerlane.storage.tables import messages, rooms

# The statements, built once from the tables and compiled for SQLite.
_DIALECT = sqlite.dialect(paramstyle="named")
_FIND = select(messages).where(
    messages.c.room_id == bindparam("room_id"),
    messages.c.sender_id == bindparam("sender_id"),
    messages.c.client_id == bindparam("client_id"),
)
_NEXT_SEQ = (
    update(rooms)
    .where(rooms.c.id == bindparam("room_id"), rooms.c.moved_at.is_(None))
    .values(last_seq=rooms.c.last_seq + literal_column("1"), last_active_at=bindparam("now"))
    .returning(rooms.c.last_seq)
)
FIND_SQL, NEXT_SEQ_SQL, INSERT_SQL = (
    str(statement.compile(dialect=_DIALECT)) for statement in (_FIND, _NEXT_SEQ, insert(messages))
)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AppendRequest:
    room_id: str
    client_id: str
    sender_id: str
    sender_name: str
    kind: MessageKind
    ref: int | None
    body: str
    now: float


# What one append gives back: (the message, whether it was already stored), or the
# error that is raised to its caller.
Outcome = tuple[StoredMessage, bool] | Exception


@dataclass(slots=True)
class _Waiting:
    request: AppendRequest
    future: asyncio.Future[tuple[StoredMessage, bool]] = field(repr=False)


class SqliteAppender:
    """Appends to the messages of a SQLite database at ``path``, batched.

    ``write_lock`` is a factory for the store's write lock (an async context manager);
    a batch holds it while its transaction runs.
    """

    def __init__(
        self, path: str, write_lock: Callable[[], AbstractAsyncContextManager[None]]
    ) -> None:
        self._path = path
        self._write_lock = write_lock
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="peerlane-sqlite-append")
        self._conn: sqlite3.Connection | None = None  # opened and used on that thread only
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def append(self, request: AppendRequest) -> tuple[StoredMessage, bool]:
        if self._closed:
            raise RuntimeError("the appender is closed")
        future: asyncio.Future[tuple[StoredMessage, bool]]
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(request, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_waiting())
        return await future

    async def close(self) -> None:
        self._closed = True
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_conn)
        self._executor.shutdown(wait=True)

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                async with self._write_lock():
                    # Everything that queued up while the lock was busy goes in one batch.
                    batch, self._waiting = self._waiting, []
                    requests = [w.request for w in batch]
                    try:
                        outcomes = await asyncio.get_running_loop().run_in_executor(
                            self._executor, self._store, requests
                        )
                    except Exception as exc:
                        outcomes = [exc] * len(batch)
                for waiting, outcome in zip(batch, outcomes, strict=True):
                    if waiting.future.done():  # its caller was cancelled
                        continue
                    if isinstance(outcome, Exception):
                        waiting.future.set_exception(outcome)
                    else:
                        waiting.future.set_result(outcome)
        finally:
            self._writer = None

    # -- on the appender's thread --

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            for pragma in SQLITE_PRAGMAS:  # the same settings as the engine's
                conn.execute(pragma)
            self._conn = conn
        return self._conn

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _store(self, requests: list[AppendRequest]) -> list[Outcome]:
        conn = self._connection()
        try:
            return _in_transaction(conn, lambda: [_append(conn, r) for r in requests])
        except sqlite3.IntegrityError:
            # Not expected (the duplicate check runs in the same transaction), but one
            # bad row must not fail the others: store them one by one instead.
            return [self._store_one(conn, r) for r in requests]

    def _store_one(self, conn: sqlite3.Connection, request: AppendRequest) -> Outcome:
        try:
            return _in_transaction(conn, lambda: _append(conn, request))
        except sqlite3.Error as exc:
            return exc


def _in_transaction(conn: sqlite3.Connection, body: Callable[[], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = body()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _append(conn: sqlite3.Connection, r: AppendRequest) -> Outcome:
    key = {"room_id": r.room_id, "sender_id": r.sender_id, "client_id": r.client_id}
    row = conn.execute(FIND_SQL, key).fetchone()
    if row is not None:
        return StoredMessage(**dict(row)), True
    seq_row = conn.execute(NEXT_SEQ_SQL, {"room_id": r.room_id, "now": r.now}).fetchone()
    if seq_row is None:
        # A moved room is read-only (sql.py's _next_seq says the same).
        found = conn.execute("SELECT 1 FROM rooms WHERE id = :room_id", key).fetchone()
        return (
            ConflictError(ErrorCode.ROOM_MOVED)
            if found
            else NotFoundError(ErrorCode.ROOM_NOT_FOUND)
        )
    message = StoredMessage(
        room_id=r.room_id,
        seq=int(seq_row[0]),
        client_id=r.client_id,
        sender_id=r.sender_id,
        sender_name=r.sender_name,
        ts=r.now,
        kind=r.kind,
        ref=r.ref,
        body=r.body,
    )
    conn.execute(INSERT_SQL, asdict(message))
    return message, False

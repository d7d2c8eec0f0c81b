"""The SQL back-end: one implementation of :class:`~peerlane.storage.base.Store` for
SQLite (embedded default) and PostgreSQL (scale-out), selected by the URL alone.

Concurrency, per dialect:

* SQLite has one writer at a time. Write transactions are serialized in-process with an
  :class:`asyncio.Lock` and open with ``BEGIN IMMEDIATE`` (see :mod:`.engine`), so they
  never fail half-way on a lock upgrade; readers run alongside in WAL mode.
* PostgreSQL gets correctness from the statements themselves: ``UPDATE ... RETURNING``
  takes the row lock that numbers messages and counts invite uses, unique constraints
  catch racing inserts, and the loser retries or reads the winner's row.

The SQL is the same for both. The one exception is appending chat messages on SQLite,
which :mod:`.sqlite_append` does in batches on its own thread, with the same SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import asdict
from typing import Any, TypeVar

from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from peerlane.core.records import (
    CleanupReport,
    HistorySetting,
    Invite,
    Participant,
    Retention,
    Room,
)
from peerlane.errors import ConflictError, ErrorCode, NotFoundError
from peerlane.storage.engine import WRITE_OPTION, is_sqlite, make_engine
from peerlane.storage.files import FileSql
from peerlane.storage.keys import KeySql
from peerlane.storage.migrate import engine_revision, head_revision, upgrade_engine
from peerlane.storage.sql_members import MemberSql
from peerlane.storage.sql_messages import MessageSql
from peerlane.storage.sql_rows import (
    _apply_max_age,
    _apply_max_messages,
    _chunks,
    _delete_rooms,
    _get_room,
    _insert_invite,
    _meta_value,
    _release_nameplates,
    _retention_values,
    _room,
    _room_values,
)
from peerlane.storage.sqlite_append import SqliteAppender
from peerlane.storage.tables import meta, participants, rooms, sessions

T = TypeVar("T")

# Tries of an insert that can lose a race for a nameplate. Each round of a race has a
# winner (the loser's INSERT waits for it to commit), so this many instances creating
# invites at the same instant all succeed.
_ATTEMPTS = 16


class SqlStore(MessageSql, MemberSql, FileSql, KeySql):
    """The :class:`~peerlane.storage.base.Store` on SQLAlchemy's async engine: rooms,
    metadata and retention here; participants, sessions and invites come from
    :class:`~peerlane.storage.sql_members.MemberSql`, messages from
    :class:`~peerlane.storage.sql_messages.MessageSql`, the file and share queries from
    :class:`~peerlane.storage.files.FileSql`, the end-to-end key ones from
    :class:`~peerlane.storage.keys.KeySql`.

    ``url`` is e.g. ``sqlite+aiosqlite:////var/lib/peerlane/peerlane.db`` or
    ``postgresql+asyncpg://peerlane@db:5432/peerlane``. Nothing connects before
    :meth:`start`, which also migrates the schema.
    """

    def __init__(
        self, url: str, *, connect_timeout: float = 5.0, command_timeout: float = 30.0
    ) -> None:
        self._engine = make_engine(
            url, connect_timeout=connect_timeout, command_timeout=command_timeout
        )
        self._writer = self._engine.execution_options(**{WRITE_OPTION: True})
        self._lock = asyncio.Lock() if is_sqlite(self._engine) else None
        # SQLite stores chats in batches on its own thread (see .sqlite_append).
        path = self._engine.url.database
        self._appender = (
            SqliteAppender(path, self._serialized)
            if is_sqlite(self._engine) and path and path != ":memory:"
            else None
        )

    # -- lifecycle --

    async def start(self) -> None:
        async with self._serialized():
            await upgrade_engine(self._engine)

    async def close(self) -> None:
        if self._appender is not None:
            await self._appender.close()
        await self._engine.dispose()

    async def ready(self) -> bool:
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return await engine_revision(self._engine) == head_revision()
        except (SQLAlchemyError, OSError, TimeoutError):
            # A probe: a database that is down or unreachable is simply not ready.
            return False

    # -- transactions --

    @contextlib.asynccontextmanager
    async def _serialized(self) -> AsyncIterator[None]:
        if self._lock is None:
            yield
        else:
            async with self._lock:
                yield

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed on exit, rolled back if the body raises."""
        # The lock is taken before a pooled connection, so waiting writers hold none.
        async with self._serialized(), self._writer.begin() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (one snapshot), rolled back on exit."""
        async with self._engine.connect() as conn:
            yield conn

    async def _retry_on_conflict(self, body: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``body`` in a write transaction, again if it hits a unique constraint.

        Two instances can pick the same free nameplate at once; the second insert fails
        and a fresh attempt picks the next one. Anything else that keeps failing is a
        duplicate id.
        """
        for _ in range(_ATTEMPTS):
            try:
                async with self._write() as conn:
                    return await body(conn)
            except IntegrityError:
                continue
        raise ConflictError(ErrorCode.DUPLICATE_ID)

    # -- server metadata --

    async def get_or_set_meta(self, key: str, value: str) -> str:
        try:
            async with self._write() as conn:
                stored = await _meta_value(conn, key)
                if stored is not None:
                    return stored
                await conn.execute(insert(meta).values(key=key, value=value))
                return value
        except IntegrityError:
            # Another instance inserted the key after we looked: theirs wins.
            async with self._read() as conn:
                stored = await _meta_value(conn, key)
            if stored is None:
                raise
            return stored

    # -- rooms --

    async def create_room(self, room: Room, owner: Participant, invite: Invite) -> Invite:
        async def body(conn: AsyncConnection) -> Invite:
            await conn.execute(insert(rooms).values(_room_values(room)))
            await conn.execute(insert(participants).values(asdict(owner)))
            return await _insert_invite(conn, invite)

        return await self._retry_on_conflict(body)

    async def get_room(self, room_id: str) -> Room | None:
        async with self._read() as conn:
            return await _get_room(conn, room_id)

    async def set_retention(self, room_id: str, retention: Retention) -> Room:
        return await self._update_room(room_id, _retention_values(retention))

    async def rename_room(self, room_id: str, name: str) -> Room:
        return await self._update_room(room_id, {"name": name})

    async def set_history(self, room_id: str, history: HistorySetting) -> Room:
        return await self._update_room(room_id, {"history": history})

    async def move_room(self, room_id: str, now: float, key_id: str) -> Room:
        # The first move stays: moving again (a retried request) changes nothing.
        first = rooms.c.moved_at.is_(None)
        return await self._update_room(
            room_id,
            {
                "moved_at": func.coalesce(rooms.c.moved_at, now),
                "moved_key_id": case((first, key_id), else_=rooms.c.moved_key_id),
            },
        )

    async def _update_room(self, room_id: str, values: dict[str, Any]) -> Room:
        async with self._write() as conn:
            result = await conn.execute(
                update(rooms).where(rooms.c.id == room_id).values(values).returning(*rooms.c)
            )
            row = result.one_or_none()
        if row is None:
            raise NotFoundError(ErrorCode.ROOM_NOT_FOUND)
        return _room(row)

    async def delete_room(self, room_id: str) -> bool:
        async with self._write() as conn:
            deleted = await _delete_rooms(conn, rooms.c.id == room_id)
        return bool(deleted)

    async def count_rooms(self) -> int:
        async with self._read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(rooms)) or 0)

    # -- retention --

    async def touch_rooms(self, room_ids: Collection[str], *, now: float) -> None:
        if not room_ids:  # the usual case for a cleanup run: no write transaction at all
            return
        async with self._write() as conn:
            for chunk in _chunks(sorted(room_ids)):
                await conn.execute(
                    update(rooms).where(rooms.c.id.in_(chunk)).values(last_active_at=now)
                )

    async def cleanup(self, *, now: float, invite_grace: float) -> CleanupReport:
        async with self._write() as conn:
            # Idle rooms first: their messages go with them and are not counted below.
            rooms_deleted = await _delete_rooms(
                conn,
                and_(
                    rooms.c.idle_expiry.is_not(None),
                    rooms.c.last_active_at + rooms.c.idle_expiry < now,
                ),
            )
            messages_deleted = await _apply_max_age(conn, now) + await _apply_max_messages(conn)
            released = await _release_nameplates(conn, now - invite_grace)
            await conn.execute(
                delete(sessions).where(
                    or_(
                        sessions.c.expires_at < now - invite_grace,
                        sessions.c.revoked_at < now - invite_grace,
                    )
                )
            )
        return CleanupReport(
            messages_deleted=messages_deleted,
            deleted_rooms=tuple(rooms_deleted),
            invites_released=released,
        )

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
from dataclasses import asdict, replace
from typing import Any, TypeVar

from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    insert,
    null,
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
    SessionRecord,
)
from peerlane.errors import ConflictError, ErrorCode, LimitError, NotFoundError
from peerlane.storage.engine import WRITE_OPTION, is_sqlite, make_engine
from peerlane.storage.files import FileSql
from peerlane.storage.keys import KeySql
from peerlane.storage.migrate import engine_revision, head_revision, upgrade_engine
from peerlane.storage.sql_messages import MessageSql
from peerlane.storage.sql_rows import (
    _apply_max_age,
    _apply_max_messages,
    _chunks,
    _count_participants,
    _delete_rooms,
    _get_invite,
    _get_room,
    _insert_invite,
    _meta_value,
    _release_nameplates,
    _retention_values,
    _room,
    _room_values,
    _rows_of_room,
    _touch_room,
    _update_invite,
    _use_invite,
)
from peerlane.storage.sqlite_append import SqliteAppender
from peerlane.storage.tables import invites, meta, participants, rooms, sessions

T = TypeVar("T")

# Tries of an insert that can lose a race for a nameplate. Each round of a race has a
# winner (the loser's INSERT waits for it to commit), so this many instances creating
# invites at the same instant all succeed.
_ATTEMPTS = 16


class SqlStore(MessageSql, FileSql, KeySql):
    """The :class:`~peerlane.storage.base.Store` on SQLAlchemy's async engine (the file
    and share queries come from :class:`~peerlane.storage.files.FileSql`, the
    end-to-end key ones from :class:`~peerlane.storage.keys.KeySql`).

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

    # -- participants --

    async def redeem_invite(
        self, invite_id: str, participant: Participant, *, now: float, max_participants: int
    ) -> Participant:
        """As in :class:`Store`. The participant joins the invite's room, whatever its
        ``room_id`` said. Any error rolls back the use of the invite."""
        async with self._write() as conn:
            room_id = await _use_invite(conn, invite_id, now)
            # Locks the room row: joins to one room take turns, so the count below holds.
            if not await _touch_room(conn, room_id, now):
                raise NotFoundError(ErrorCode.ROOM_NOT_FOUND)
            if await _count_participants(conn, room_id) >= max_participants:
                raise LimitError(ErrorCode.ROOM_FULL)
            joined = replace(participant, room_id=room_id)
            await conn.execute(insert(participants).values(asdict(joined)))
        return joined

    async def get_participant(self, participant_id: str) -> Participant | None:
        async with self._read() as conn:
            result = await conn.execute(
                select(participants).where(participants.c.id == participant_id)
            )
            row = result.one_or_none()
        return None if row is None else Participant(**row._asdict())

    async def list_participants(self, room_id: str) -> list[Participant]:
        async with self._read() as conn:
            rows = await _rows_of_room(conn, participants, room_id)
        return [Participant(**row._asdict()) for row in rows]

    async def set_last_read(self, participant_id: str, seq: int) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(participants)
                .where(participants.c.id == participant_id, participants.c.last_read_seq < seq)
                .values(last_read_seq=seq)
            )

    # -- sessions --

    async def create_session(self, session: SessionRecord) -> None:
        async with self._write() as conn:
            await conn.execute(insert(sessions).values(asdict(session)))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        async with self._read() as conn:
            result = await conn.execute(select(sessions).where(sessions.c.id == session_id))
            row = result.one_or_none()
        return None if row is None else SessionRecord(**row._asdict())

    async def renew_session(self, session_id: str, *, expires_at: float, now: float) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                update(sessions)
                .where(
                    sessions.c.id == session_id,
                    sessions.c.revoked_at.is_(None),
                    sessions.c.expires_at > now,
                )
                .values(
                    expires_at=case(
                        (sessions.c.expires_at < expires_at, expires_at),
                        else_=sessions.c.expires_at,
                    )
                )
                .returning(sessions.c.id)
            )
            return result.one_or_none() is not None

    async def revoke_session(self, session_id: str, *, now: float) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                update(sessions)
                .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)
                .returning(sessions.c.id)
            )
            return result.one_or_none() is not None

    async def live_sessions(self, participant_id: str, *, now: float) -> int:
        async with self._read() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(sessions)
                .where(
                    sessions.c.participant_id == participant_id,
                    sessions.c.revoked_at.is_(None),
                    sessions.c.expires_at > now,
                )
            )
        return int(count or 0)

    async def remove_participant(self, room_id: str, participant_id: str) -> Participant | None:
        async with self._write() as conn:
            # Only a participant of this room: the owner of one room must not end sessions
            # in another. Its sessions go explicitly, not only by cascade (SQLite cascades
            # only with foreign_keys=ON).
            result = await conn.execute(
                delete(participants)
                .where(participants.c.id == participant_id, participants.c.room_id == room_id)
                .returning(*participants.c)
            )
            row = result.one_or_none()
            if row is None:
                return None
            await conn.execute(
                delete(sessions).where(
                    sessions.c.participant_id == participant_id, sessions.c.room_id == room_id
                )
            )
            # The key it held is due to rotate (the owner's client sees it: GET keys).
            await conn.execute(
                update(rooms).where(rooms.c.id == room_id).values(left_epoch=rooms.c.key_epoch)
            )
        return Participant(**row._asdict())

    # -- invites --

    async def create_invite(self, invite: Invite) -> Invite:
        async def body(conn: AsyncConnection) -> Invite:
            # Checked here so a missing room is not mistaken for a nameplate race.
            if await _get_room(conn, invite.room_id) is None:
                raise NotFoundError(ErrorCode.ROOM_NOT_FOUND)
            return await _insert_invite(conn, invite)

        return await self._retry_on_conflict(body)

    async def get_invite(self, invite_id: str) -> Invite | None:
        async with self._read() as conn:
            return await _get_invite(conn, invites.c.id == invite_id)

    async def get_invite_by_token_hash(self, token_hash: str) -> Invite | None:
        async with self._read() as conn:
            return await _get_invite(conn, invites.c.token_hash == token_hash)

    async def get_invite_by_nameplate(self, nameplate: int) -> Invite | None:
        async with self._read() as conn:
            return await _get_invite(conn, invites.c.nameplate == nameplate)

    async def list_invites(self, room_id: str) -> list[Invite]:
        async with self._read() as conn:
            rows = await _rows_of_room(conn, invites, room_id)
        return [Invite(**row._asdict()) for row in rows]

    async def update_invite(
        self,
        invite_id: str,
        *,
        expires_at: float | None = None,
        max_uses: int | None = None,
        clear_max_uses: bool = False,
        revoked_at: float | None = None,
        sealed_code: str | None = None,
    ) -> Invite:
        """As in :class:`Store`; ``clear_max_uses`` wins over ``max_uses``."""
        values: dict[str, Any] = {}
        if expires_at is not None:
            values["expires_at"] = expires_at
        if max_uses is not None:
            values["max_uses"] = max_uses
        if clear_max_uses:
            values["max_uses"] = None
        if revoked_at is not None:
            values["revoked_at"] = revoked_at
        if sealed_code is not None:
            values["sealed_code"] = sealed_code
        async with self._write() as conn:
            if values:
                invite = await _update_invite(conn, invite_id, values)
            else:
                invite = await _get_invite(conn, invites.c.id == invite_id)
        if invite is None:
            raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
        return invite

    async def record_code_failure(self, invite_id: str, *, max_failures: int) -> Invite:
        # One statement, so concurrent wrong guesses are all counted.
        retire = case((invites.c.failures + 1 >= max_failures, null()), else_=invites.c.nameplate)
        async with self._write() as conn:
            invite = await _update_invite(
                conn, invite_id, {"failures": invites.c.failures + 1, "nameplate": retire}
            )
        if invite is None:
            raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
        return invite

    async def refund_code_failure(self, invite_id: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                invites.update()
                .where(invites.c.id == invite_id, invites.c.failures > 0)
                .values(failures=invites.c.failures - 1)
            )

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

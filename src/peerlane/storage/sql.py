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
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import asdict, replace
from typing import Any, TypeVar

from sqlalchemy import (
    Row,
    Table,
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

from peerlane.core.codes import free_nameplate
from peerlane.core.edits import DELETED_BODY, check_change
from peerlane.core.invites import problem
from peerlane.core.protocol import CHANGE_KINDS
from peerlane.core.records import (
    CleanupReport,
    HistorySetting,
    Invite,
    MessageKind,
    Participant,
    Retention,
    Room,
    SessionRecord,
    StoredId,
    StoredMessage,
)
from peerlane.errors import ConflictError, ErrorCode, GoneError, LimitError, NotFoundError
from peerlane.storage.engine import WRITE_OPTION, is_sqlite, make_engine
from peerlane.storage.files import FileSql, delete_room_files
from peerlane.storage.keys import KeySql
from peerlane.storage.migrate import engine_revision, head_revision, upgrade_engine
from peerlane.storage.sqlite_append import AppendRequest, SqliteAppender
from peerlane.storage.tables import invites, messages, meta, participants, rooms, sessions

T = TypeVar("T")

# Tries of an insert that can lose a race for a nameplate. Each round of a race has a
# winner (the loser's INSERT waits for it to commit), so this many instances creating
# invites at the same instant all succeed.
_ATTEMPTS = 16
# Keeps ``IN (...)`` lists below SQLite's bound-parameter limit.
_CHUNK = 500


class SqlStore(FileSql, KeySql):
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

    # -- messages --

    async def append_message(
        self,
        *,
        room_id: str,
        client_id: str,
        sender_id: str,
        sender_name: str,
        kind: MessageKind,
        ref: int | None,
        body: str,
        now: float,
    ) -> tuple[StoredMessage, bool]:
        if kind not in CHANGE_KINDS and self._appender is not None:
            request = AppendRequest(
                room_id, client_id, sender_id, sender_name, kind, ref, body, now
            )
            return await self._appender.append(request)
        message = StoredMessage(
            room_id=room_id,
            seq=0,  # drawn when stored
            client_id=client_id,
            sender_id=sender_id,
            sender_name=sender_name,
            ts=now,
            kind=kind,
            ref=ref,
            body=body,
        )
        if kind in CHANGE_KINDS:
            # Rare next to chat, and it reads and changes its target: the generic path.
            return await self._append_change(message)
        return await self._store_once(message)

    async def _store_once(
        self,
        message: StoredMessage,
        apply: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    ) -> tuple[StoredMessage, bool]:
        """Store ``message`` once per (room, sender, client id), with the room's next seq
        (its row lock, taken first) and after ``apply`` in the same transaction; a resend
        gets the stored one back, with True."""
        room_id, sender_id, client_id = message.room_id, message.sender_id, message.client_id
        try:
            async with self._write() as conn:
                existing = await _find_message(conn, room_id, sender_id, client_id)
                if existing is not None:
                    return existing, True
                stored = replace(message, seq=await _next_seq(conn, room_id, message.ts))
                if apply is not None:
                    await apply(conn)
                await conn.execute(insert(messages).values(asdict(stored)))
                return stored, False
        except IntegrityError:
            # A concurrent resend of the same message was inserted first. Our transaction
            # rolled back, taking the seq it had drawn with it, so the room has no gap.
            async with self._read() as conn:
                existing = await _find_message(conn, room_id, sender_id, client_id)
            if existing is None:
                raise
            return existing, True

    async def _append_change(self, change: StoredMessage) -> tuple[StoredMessage, bool]:
        """Store an edit or a delete and apply it to its target, in one transaction (a
        resend was applied once already: it gets the stored change back)."""
        room_id, sender_id, kind, ref = change.room_id, change.sender_id, change.kind, change.ref
        body, now = change.body, change.ts

        async def apply(conn: AsyncConnection) -> None:
            # After the room's row lock (_store_once): it orders this change after any
            # other one under way in the room (an edit racing a delete), and a refusal
            # rolls back, giving the seq back.
            target = None if ref is None else await _message_at(conn, room_id, ref)
            check_change(target, sender_id=sender_id, kind=kind)
            assert ref is not None  # check_change refuses a missing target
            if kind == "delete":
                # Nothing of what was said stays: not the message, not its edits.
                await conn.execute(
                    update(messages)
                    .where(
                        messages.c.room_id == room_id,
                        messages.c.kind == "edit",
                        messages.c.ref == ref,
                    )
                    .values(body=DELETED_BODY)
                )
                values: dict[str, Any] = {"body": DELETED_BODY, "deleted_at": now}
            else:
                values = {"body": body, "edited_at": now}
            await conn.execute(
                update(messages)
                .where(messages.c.room_id == room_id, messages.c.seq == ref)
                .values(**values)
            )

        stored = replace(change, body=DELETED_BODY) if kind == "delete" else change
        return await self._store_once(stored, apply)

    async def messages_after(self, room_id: str, after: int, limit: int) -> list[StoredMessage]:
        async with self._read() as conn:
            result = await conn.execute(
                select(messages)
                .where(messages.c.room_id == room_id, messages.c.seq > after)
                .order_by(messages.c.seq)
                .limit(limit)
            )
            return [StoredMessage(**row._asdict()) for row in result]

    async def messages_before(self, room_id: str, before: int, limit: int) -> list[StoredMessage]:
        async with self._read() as conn:
            result = await conn.execute(
                select(messages)
                .where(messages.c.room_id == room_id, messages.c.seq < before)
                .order_by(messages.c.seq.desc())
                .limit(limit)
            )
            newest_first = [StoredMessage(**row._asdict()) for row in result]
        return newest_first[::-1]

    async def stored_ids(
        self, room_id: str, sender_id: str, client_ids: Collection[str]
    ) -> list[StoredId]:
        if not client_ids:
            return []
        async with self._read() as conn:
            result = await conn.execute(
                select(messages.c.client_id, messages.c.seq, messages.c.ts).where(
                    messages.c.room_id == room_id,
                    messages.c.sender_id == sender_id,
                    messages.c.client_id.in_(list(client_ids)),
                )
            )
            return [StoredId(client_id=c, seq=seq, ts=ts) for c, seq, ts in result]

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


# -- rows and records --


def _room(row: Row[Any]) -> Room:
    return Room(
        id=row.id,
        name=row.name,
        owner_id=row.owner_id,
        created_at=row.created_at,
        last_active_at=row.last_active_at,
        last_seq=row.last_seq,
        retention=Retention(
            max_age=row.max_age, max_messages=row.max_messages, idle_expiry=row.idle_expiry
        ),
        key_epoch=row.key_epoch,
        history=row.history,
        moved_at=row.moved_at,
        moved_key_id=row.moved_key_id,
    )


def _retention_values(retention: Retention) -> dict[str, Any]:
    return {
        "max_age": retention.max_age,
        "max_messages": retention.max_messages,
        "idle_expiry": retention.idle_expiry,
    }


def _room_values(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "name": room.name,
        "owner_id": room.owner_id,
        "created_at": room.created_at,
        "last_active_at": room.last_active_at,
        "last_seq": room.last_seq,
        "key_epoch": room.key_epoch,
        "history": room.history,
        "moved_at": room.moved_at,
        "moved_key_id": room.moved_key_id,
        **_retention_values(room.retention),
    }


# -- statements used by more than one method; each runs in the caller's transaction --


async def _meta_value(conn: AsyncConnection, key: str) -> str | None:
    value = await conn.scalar(select(meta.c.value).where(meta.c.key == key))
    return None if value is None else str(value)


async def _get_room(conn: AsyncConnection, room_id: str) -> Room | None:
    row = (await conn.execute(select(rooms).where(rooms.c.id == room_id))).one_or_none()
    return None if row is None else _room(row)


async def _touch_room(conn: AsyncConnection, room_id: str, now: float) -> bool:
    """Mark the room active (taking its row lock); False if there is no such room."""
    result = await conn.execute(
        update(rooms).where(rooms.c.id == room_id).values(last_active_at=now).returning(rooms.c.id)
    )
    return result.one_or_none() is not None


async def _next_seq(conn: AsyncConnection, room_id: str, now: float) -> int:
    """Draw the room's next message seq and mark it active.

    The UPDATE holds the room's row lock until commit, so concurrent appends to one
    room get consecutive seqs and a rolled-back append gives its seq back.
    """
    result = await conn.execute(
        update(rooms)
        .where(rooms.c.id == room_id, rooms.c.moved_at.is_(None))
        .values(last_seq=rooms.c.last_seq + 1, last_active_at=now)
        .returning(rooms.c.last_seq)
    )
    seq = result.scalar_one_or_none()
    if seq is None:
        # A moved room is read-only (under the same row lock: no message slips in after).
        found = await conn.scalar(select(rooms.c.id).where(rooms.c.id == room_id))
        raise (
            ConflictError(ErrorCode.ROOM_MOVED)
            if found
            else NotFoundError(ErrorCode.ROOM_NOT_FOUND)
        )
    return int(seq)


async def _find_message(
    conn: AsyncConnection, room_id: str, sender_id: str, client_id: str
) -> StoredMessage | None:
    result = await conn.execute(
        select(messages).where(
            messages.c.room_id == room_id,
            messages.c.sender_id == sender_id,
            messages.c.client_id == client_id,
        )
    )
    row = result.one_or_none()
    return None if row is None else StoredMessage(**row._asdict())


async def _message_at(conn: AsyncConnection, room_id: str, seq: int) -> StoredMessage | None:
    result = await conn.execute(
        select(messages).where(messages.c.room_id == room_id, messages.c.seq == seq)
    )
    row = result.one_or_none()
    return None if row is None else StoredMessage(**row._asdict())


async def _rows_of_room(conn: AsyncConnection, table: Table, room_id: str) -> Sequence[Row[Any]]:
    """A room's rows of ``table``, oldest first (ties in a stable order)."""
    result = await conn.execute(
        select(table).where(table.c.room_id == room_id).order_by(table.c.created_at, table.c.id)
    )
    return result.all()


async def _count_participants(conn: AsyncConnection, room_id: str) -> int:
    count = await conn.scalar(
        select(func.count()).select_from(participants).where(participants.c.room_id == room_id)
    )
    return int(count or 0)


async def _get_invite(conn: AsyncConnection, where: Any) -> Invite | None:
    row = (await conn.execute(select(invites).where(where))).one_or_none()
    return None if row is None else Invite(**row._asdict())


async def _update_invite(
    conn: AsyncConnection, invite_id: str, values: dict[str, Any]
) -> Invite | None:
    result = await conn.execute(
        update(invites).where(invites.c.id == invite_id).values(values).returning(*invites.c)
    )
    row = result.one_or_none()
    return None if row is None else Invite(**row._asdict())


async def _insert_invite(conn: AsyncConnection, invite: Invite) -> Invite:
    """Insert ``invite`` under the smallest free nameplate; a racing instance that took
    the same one makes this raise IntegrityError (the unique constraint)."""
    in_use = await conn.scalars(select(invites.c.nameplate).where(invites.c.nameplate.is_not(None)))
    stored = replace(invite, nameplate=free_nameplate(in_use))
    await conn.execute(insert(invites).values(asdict(stored)))
    return stored


async def _use_invite(conn: AsyncConnection, invite_id: str, now: float) -> str:
    """Count one use of a redeemable invite and return its room id, or raise why not.

    The conditional UPDATE is the check: it locks the row, and PostgreSQL re-evaluates
    the condition after waiting for a concurrent redemption, so ``max_uses`` holds.
    """
    redeemable = and_(
        invites.c.id == invite_id,
        invites.c.revoked_at.is_(None),
        invites.c.expires_at > now,
        or_(invites.c.max_uses.is_(None), invites.c.uses < invites.c.max_uses),
    )
    result = await conn.execute(
        update(invites)
        .where(redeemable)
        .values(uses=invites.c.uses + 1)
        .returning(invites.c.room_id)
    )
    room_id = result.scalar_one_or_none()
    if room_id is not None:
        return str(room_id)
    invite = await _get_invite(conn, invites.c.id == invite_id)
    if invite is None:
        raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
    # problem() is None only if the owner changed the invite in between; it was not
    # redeemable when we tried, and the one rule that can flip back is the use count.
    raise GoneError(problem(invite, now) or ErrorCode.INVITE_EXHAUSTED)


async def _delete_rooms(conn: AsyncConnection, where: Any) -> Sequence[str]:
    """Delete the matching rooms and everything in them (file rows too; their bytes go
    at the next files cleanup); return their ids.

    The rooms go first, in one statement: on PostgreSQL a room touched concurrently is
    re-checked against ``where`` before it is deleted. The children are then deleted
    explicitly as well, so nothing is orphaned where foreign keys are not enforced.
    """
    result = await conn.execute(delete(rooms).where(where).returning(rooms.c.id))
    room_ids = [str(room_id) for room_id in result.scalars()]
    for chunk in _chunks(room_ids):
        await delete_room_files(conn, chunk)
        for table in (messages, invites, participants):
            await conn.execute(delete(table).where(table.c.room_id.in_(chunk)))
    return room_ids


async def _apply_max_age(conn: AsyncConnection, now: float) -> int:
    """Delete messages older than their room's max_age, room by room (index room_id, ts)."""
    result = await conn.execute(
        select(rooms.c.id, rooms.c.max_age).where(rooms.c.max_age.is_not(None))
    )
    deleted = 0
    for room_id, max_age in result.all():
        deleted += (
            await conn.execute(
                delete(messages).where(messages.c.room_id == room_id, messages.c.ts < now - max_age)
            )
        ).rowcount
    return deleted


async def _apply_max_messages(conn: AsyncConnection) -> int:
    """Keep each room's newest max_messages messages; seqs are gap-free, so the cut-off
    is a seq, and messages appended meanwhile are only newer."""
    result = await conn.execute(
        select(rooms.c.id, rooms.c.last_seq, rooms.c.max_messages).where(
            rooms.c.max_messages.is_not(None), rooms.c.last_seq > rooms.c.max_messages
        )
    )
    deleted = 0
    for room_id, last_seq, max_messages in result.all():
        deleted += (
            await conn.execute(
                delete(messages).where(
                    messages.c.room_id == room_id, messages.c.seq <= last_seq - max_messages
                )
            )
        ).rowcount
    return deleted


async def _release_nameplates(conn: AsyncConnection, dead_before: float) -> int:
    """Free the nameplates of invites revoked or expired before ``dead_before``, and of
    used-up ones at once (their uses never come back), so short codes stay short."""
    dead = or_(
        invites.c.revoked_at < dead_before,
        invites.c.expires_at < dead_before,
        and_(invites.c.max_uses.is_not(None), invites.c.uses >= invites.c.max_uses),
    )
    result = await conn.execute(
        update(invites).where(invites.c.nameplate.is_not(None), dead).values(nameplate=None)
    )
    return result.rowcount


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]

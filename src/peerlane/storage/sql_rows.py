"""The SQL store's shared pieces: rows to records and back, and the statements more than
one of :class:`~peerlane.storage.sql.SqlStore`'s methods run (each in the caller's
transaction, so it takes part in the caller's atomicity)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from typing import Any

from sqlalchemy import (
    Row,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from peerlane.core.codes import free_nameplate
from peerlane.core.invites import problem
from peerlane.core.records import (
    Invite,
    Retention,
    Room,
    StoredMessage,
)
from peerlane.errors import ConflictError, ErrorCode, GoneError, NotFoundError
from peerlane.storage.files import delete_room_files
from peerlane.storage.tables import invites, messages, meta, participants, rooms

# Keeps ``IN (...)`` lists below SQLite's bound-parameter limit.
_CHUNK = 500


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
        left_epoch=row.left_epoch,
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
        "left_epoch": room.left_epoch,
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

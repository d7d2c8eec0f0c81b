"""The SQL of participants, their sessions and invites, mixed into ``SqlStore``
(storage/sql.py; the same statements on SQLite and PostgreSQL).

Joining by an invite counts its use and the room's participants in one write
transaction: the room row is locked first, so joins to one room take turns. A new
invite may lose a race for its nameplate to another instance: it is inserted again
(the host's ``_retry_on_conflict``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import case, delete, func, insert, null, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from peerlane.core.records import Invite, Participant, SessionRecord
from peerlane.errors import ErrorCode, LimitError, NotFoundError
from peerlane.storage.sql_rows import (
    _count_participants,
    _get_invite,
    _get_room,
    _insert_invite,
    _rows_of_room,
    _touch_room,
    _update_invite,
    _use_invite,
)
from peerlane.storage.tables import invites, participants, rooms, sessions

T = TypeVar("T")


class MemberSql:
    """Participant, session and invite queries; needs the host class's ``_write``,
    ``_read`` and ``_retry_on_conflict``."""

    if TYPE_CHECKING:

        def _write(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

        def _read(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

        async def _retry_on_conflict(
            self, body: Callable[[AsyncConnection], Awaitable[T]]
        ) -> T: ...

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

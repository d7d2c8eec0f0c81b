"""The SQL of end-to-end keys, mixed into ``SqlStore``: members' identity public keys,
the room key's epoch, and room keys wrapped to members (docs/protocol.md, "Identity keys
and rotation on the server"). The server holds all of them as opaque text: it checks
their form at the boundary, never what they open.

A rotation claims the next epoch with a conditional ``UPDATE`` of the room row (its row
lock on PostgreSQL, the one writer on SQLite), so of two members rotating at once one
wins and the other gets ``key_epoch_conflict``; its wraps go in the same transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from peerlane.core.records import KeyWrap, Participant
from peerlane.errors import ConflictError, ErrorCode, NotFoundError
from peerlane.storage.tables import key_wraps, participants, rooms

# (recipient participant id, epoch, wrap text)
WrapOut = tuple[str, int, str]


class KeySql:
    """Identity keys and key wraps; needs the host class's ``_write`` and ``_read``."""

    if TYPE_CHECKING:

        def _write(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

        def _read(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

    async def set_identity_key(self, participant_id: str, key: str) -> Participant | None:
        """Publish (or replace) the participant's identity public key; None if gone."""
        async with self._write() as conn:
            result = await conn.execute(
                update(participants)
                .where(participants.c.id == participant_id)
                .values(identity_key=key)
                .returning(*participants.c)
            )
            row = result.one_or_none()
        return None if row is None else Participant(**row._asdict())

    async def store_wraps(
        self,
        room_id: str,
        sender_id: str,
        sender_key: str,
        wraps: Sequence[WrapOut],
        *,
        rotate_to: int | None,
        now: float,
    ) -> int:
        """Store wraps from ``sender_id``, replacing its earlier wrap of the same epoch to
        the same member; with ``rotate_to``, first move the room to that epoch, which
        must be the next one (ConflictError KEY_EPOCH_CONFLICT otherwise). Every wrap's
        epoch must exist by then (KEY_EPOCH_CONFLICT) and every recipient must be a
        participant of the room (NotFoundError NOT_FOUND). Returns the room's epoch."""
        async with self._write() as conn:
            epoch = await _room_epoch(conn, room_id)
            if rotate_to is not None:
                if rotate_to != epoch + 1:
                    raise ConflictError(
                        ErrorCode.KEY_EPOCH_CONFLICT,
                        f"The room's key is at epoch {epoch}: rotate to {epoch + 1}.",
                    )
                await conn.execute(
                    update(rooms).where(rooms.c.id == room_id).values(key_epoch=rotate_to)
                )
                epoch = rotate_to
            if any(wrap_epoch > epoch for _, wrap_epoch, _ in wraps):
                raise ConflictError(
                    ErrorCode.KEY_EPOCH_CONFLICT, f"The room's key is at epoch {epoch}."
                )
            recipients = {recipient for recipient, _, _ in wraps}
            found = await conn.execute(
                select(participants.c.id).where(
                    participants.c.room_id == room_id, participants.c.id.in_(recipients)
                )
            )
            if missing := recipients - set(found.scalars()):
                raise NotFoundError(
                    ErrorCode.NOT_FOUND, f"Not in this room: {', '.join(sorted(missing))}."
                )
            if wraps:
                await conn.execute(
                    delete(key_wraps).where(
                        key_wraps.c.sender_id == sender_id,
                        tuple_(key_wraps.c.recipient_id, key_wraps.c.epoch).in_(
                            [(recipient, wrap_epoch) for recipient, wrap_epoch, _ in wraps]
                        ),
                    )
                )
                rows = [
                    {
                        "recipient_id": recipient,
                        "epoch": wrap_epoch,
                        "sender_id": sender_id,
                        "room_id": room_id,
                        "sender_key": sender_key,
                        "wrap": wrap,
                        "created_at": now,
                    }
                    for recipient, wrap_epoch, wrap in wraps
                ]
                await conn.execute(insert(key_wraps), rows)
        return epoch

    async def wraps_for(self, participant_id: str) -> list[KeyWrap]:
        """The wraps addressed to the participant, by epoch then time."""
        async with self._read() as conn:
            result = await conn.execute(
                select(key_wraps)
                .where(key_wraps.c.recipient_id == participant_id)
                .order_by(key_wraps.c.epoch, key_wraps.c.created_at)
            )
            return [KeyWrap(**row._asdict()) for row in result]

    async def wrapped_epochs(self, room_id: str) -> dict[str, set[int]]:
        """Per participant of the room, the epochs some member has wrapped to it."""
        async with self._read() as conn:
            result = await conn.execute(
                select(key_wraps.c.recipient_id, key_wraps.c.epoch)
                .where(key_wraps.c.room_id == room_id)
                .distinct()
            )
            out: dict[str, set[int]] = {}
            for recipient, epoch in result:
                out.setdefault(recipient, set()).add(epoch)
            return out


async def _room_epoch(conn: AsyncConnection, room_id: str) -> int:
    """The room's key epoch, with its row locked for the transaction."""
    result = await conn.execute(
        update(rooms)
        .where(rooms.c.id == room_id)
        .values(key_epoch=rooms.c.key_epoch)
        .returning(rooms.c.key_epoch)
    )
    epoch = result.scalar_one_or_none()
    if epoch is None:
        raise NotFoundError(ErrorCode.ROOM_NOT_FOUND, "No such room.")
    return int(epoch)

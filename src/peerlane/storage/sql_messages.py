"""The SQL store's chat messages: appending (once per client id, numbered under the
room's row lock), edits and deletions, and reading history; a mixin of
:class:`~peerlane.storage.sql.SqlStore`, which brings the transactions and, on SQLite,
the batched appender."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Collection
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from peerlane.core.edits import DELETED_BODY, check_change
from peerlane.core.protocol import CHANGE_KINDS
from peerlane.core.records import (
    MessageKind,
    StoredId,
    StoredMessage,
)
from peerlane.storage.sql_rows import (
    _find_message,
    _message_at,
    _next_seq,
)
from peerlane.storage.sqlite_append import AppendRequest, SqliteAppender
from peerlane.storage.tables import messages


class MessageSql:
    """Needs the host class's ``_write``, ``_read`` and ``_appender``."""

    if TYPE_CHECKING:
        _appender: SqliteAppender | None

        def _write(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

        def _read(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

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

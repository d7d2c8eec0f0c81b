"""An ack means the message is durable: every commit is synced to disk before it returns.

A power cut cannot be simulated here, so these tests read the setting that makes a commit
durable on the real connections the store writes through: on SQLite both the engine's
and the chat appender's own ``sqlite3`` connection (``synchronous=FULL``), on PostgreSQL
the store's connections (``synchronous_commit`` not ``off``; the test server itself runs
with ``off``, so the store must turn it back on).
"""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import text

from peerlane.storage.engine import is_sqlite
from peerlane.storage.sql import SqlStore

SQLITE_FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


async def _append(store: SqlStore, room_id: str) -> None:
    await store.append_message(
        room_id=room_id, client_id="c1", sender_id="alice", sender_name="Alice",
        kind="text", ref=None, body=json.dumps("hi"), now=1.0,
    )  # fmt: skip


async def test_engine_connections_commit_durably(store: SqlStore, make) -> None:
    async with store._engine.connect() as conn:
        if is_sqlite(store._engine):
            value = (await conn.execute(text("PRAGMA synchronous"))).scalar_one()
            assert value == SQLITE_FULL
        else:
            value = (await conn.execute(text("SHOW synchronous_commit"))).scalar_one()
            assert value == "on"


async def test_sqlite_chat_appender_commits_durably(store: SqlStore, make) -> None:
    if store._appender is None:
        assert not is_sqlite(store._engine)  # PostgreSQL stores chats on the engine's path
        return
    room, _ = await make.new_room(store)
    await _append(store, room.id)  # opens the appender's connection on its thread
    appender = store._appender

    def read_pragma() -> int:
        row = appender._connection().execute("PRAGMA synchronous").fetchone()
        return int(row[0])

    value = await asyncio.get_running_loop().run_in_executor(appender._executor, read_pragma)

    assert value == SQLITE_FULL

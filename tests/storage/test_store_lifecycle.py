"""Start-up, migrations, readiness and restarts, on every back-end."""

from __future__ import annotations

import json
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from peerlane.storage import migrate
from peerlane.storage.engine import make_engine
from peerlane.storage.sql import SqlStore
from peerlane.storage.tables import metadata

NOW = 1_000_000.0


async def test_ready_after_start(store: SqlStore) -> None:
    assert await store.ready()


async def test_not_ready_before_migrations(store_url: str) -> None:
    fresh = SqlStore(store_url)
    try:
        assert not await fresh.ready()
        await migrate.upgrade(store_url)
        assert await fresh.ready()
    finally:
        await fresh.close()


async def test_not_ready_when_database_unreachable() -> None:
    # Port 9 (discard) on loopback: nothing listens there.
    gone = SqlStore("postgresql+asyncpg://nobody@127.0.0.1:9/nothing")
    try:
        assert not await gone.ready()
    finally:
        await gone.close()


async def test_start_is_idempotent(store: SqlStore, store_url: str) -> None:
    await store.start()
    await migrate.upgrade(store_url)
    assert await migrate.current_revision(store_url) == migrate.head_revision()
    assert await store.ready()


async def test_data_survives_restart(store_url: str, make) -> None:
    first = SqlStore(store_url)
    await first.start()
    room, invite = await make.new_room(first)
    message, _ = await first.append_message(
        room_id=room.id, client_id="m1", sender_id=room.owner_id, sender_name="Owner",
        kind="text", ref=None, body=json.dumps({"text": "hello"}), now=NOW,
    )  # fmt: skip
    secret = await first.get_or_set_meta("secret", "s1")
    await first.close()

    second = SqlStore(store_url)
    await second.start()
    try:
        stored_room = await second.get_room(room.id)
        assert stored_room is not None
        assert stored_room.last_seq == 1
        assert await second.get_invite(invite.id) == invite
        assert await second.messages_after(room.id, 0, 10) == [message]
        assert await second.get_or_set_meta("secret", "s2") == secret
        nxt, _ = await second.append_message(
            room_id=room.id, client_id="m2", sender_id=room.owner_id, sender_name="Owner",
            kind="text", ref=None, body="{}", now=NOW,
        )  # fmt: skip
        assert nxt.seq == 2
    finally:
        await second.close()


def _schema_diffs(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_migrations_match_tables(store_url: str) -> None:
    """The hand-written revision creates exactly what tables.py describes."""
    await migrate.upgrade(store_url)
    engine = make_engine(store_url)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(_schema_diffs)
    finally:
        await engine.dispose()
    assert diffs == []

"""Secrets at rest and in errors (issue #9, finding 8), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from peerlane.core.invite_secrets import token_hash
from peerlane.storage import migrate
from peerlane.storage.engine import WRITE_OPTION, make_engine
from peerlane.storage.sql import SqlStore


async def test_a_database_error_does_not_print_its_parameters(store_url: str):
    """A failing statement's parameters (an invite token, say) must not reach the
    exception text, which ends up in tracebacks and logs."""
    secret = "tok-3f9a1c7e5b2d4a6f8e0c"
    engine = make_engine(store_url)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as raised:
                await conn.execute(
                    text("SELECT token FROM no_such_table WHERE token = :t"), {"t": secret}
                )
    finally:
        await engine.dispose()
    assert secret not in str(raised.value)
    assert "hidden" in str(raised.value).lower()


async def test_the_migration_hashes_existing_invite_tokens_and_retires_their_codes(
    store_url: str,
) -> None:
    """An invite made before revision 0003: after the upgrade the database holds only
    the hash of its link token (the link still works) and no code words (the code is
    retired: their keyed hash needs the server secret, which a migration may not have)."""
    engine = make_engine(store_url)
    try:
        async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            await conn.run_sync(_upgrade_to, "0002")
            await conn.execute(
                text(
                    "INSERT INTO rooms (id, name, owner_id, created_at, last_active_at, last_seq)"
                    " VALUES ('room-1', 'r', 'owner-1', 1, 1, 0)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO invites (id, room_id, token, nameplate, words, created_by,"
                    " created_at, expires_at, uses, failures) VALUES ('inv-1', 'room-1',"
                    " :token, 3, 'amber-falcon', 'owner-1', 1, 9e12, 0, 0)"
                ),
                {"token": "old-link-token-0123456789"},
            )
    finally:
        await engine.dispose()

    store = SqlStore(store_url)
    await store.start()  # migrates to head
    try:
        invite = await store.get_invite_by_token_hash(token_hash("old-link-token-0123456789"))
        assert invite is not None
        assert invite.id == "inv-1"
        assert invite.nameplate is None
        assert invite.words_hash is None
        assert await store.get_invite_by_nameplate(3) is None
    finally:
        await store.close()
    engine = make_engine(store_url)
    try:
        async with engine.connect() as conn:
            dump = repr((await conn.execute(text("SELECT * FROM invites"))).all())
            columns = await conn.run_sync(
                lambda c: [col["name"] for col in inspect(c).get_columns("invites")]
            )
    finally:
        await engine.dispose()
    assert "old-link-token-0123456789" not in dump
    assert "amber-falcon" not in dump
    assert "token" not in columns
    assert "words" not in columns


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)

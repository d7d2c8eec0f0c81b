"""Alembic environment for peerlane.

Normally entered from :func:`peerlane.storage.migrate.upgrade`, which hands over a
connection (already in a transaction) in ``config.attributes["connection"]``. Without
one, as from the ``alembic`` command line, it connects to ``sqlalchemy.url`` itself
with an async engine and runs the migrations through ``run_sync``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from peerlane.storage.engine import make_engine
from peerlane.storage.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or pass a connection")
    return url


if context.is_offline_mode():
    # Emit the SQL instead of running it (alembic upgrade --sql).
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:
    asyncio.run(_run_with_own_engine(_url()))

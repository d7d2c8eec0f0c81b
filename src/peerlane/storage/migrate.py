"""Schema migrations, run from code: no ``alembic.ini`` is needed at run time.

``peerlane db upgrade`` and :meth:`SqlStore.start` call :func:`upgrade`. The Alembic
environment is the ``migrations`` folder next to this file, shipped as package data.
Developers can still use the ``alembic`` command line with a config built by
:func:`alembic_config` (see ``migrations/env.py``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from peerlane.storage.engine import WRITE_OPTION, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any fixed number: PostgreSQL instances starting together take turns on this lock.
_PG_MIGRATION_LOCK = 0x7065_6572  # "peer"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations; ``url`` only for the CLI."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser treats % as interpolation; a password may contain one.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@functools.cache
def head_revision() -> str | None:
    """The newest revision in the packaged migrations (they do not change while we run)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(url: str) -> None:
    """Bring the database at ``url`` up to the newest revision."""
    engine = make_engine(url)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; ``None`` if it was never migrated."""
    engine = make_engine(url)
    try:
        return await engine_revision(engine)
    finally:
        await engine.dispose()


async def upgrade_engine(engine: AsyncEngine) -> None:
    """Upgrade to head through ``engine``, in one transaction where the dialect allows.

    Safe to run again on a migrated database (it does nothing) and, on PostgreSQL,
    from several instances at once: an advisory lock makes them take turns.
    """
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        await conn.run_sync(_upgrade_sync)


async def engine_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_revision_sync)


def _upgrade_sync(connection: Connection) -> None:
    config = alembic_config()
    # env.py runs on this connection (and inside its transaction) instead of connecting.
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _revision_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()

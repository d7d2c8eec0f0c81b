"""Storage back-ends behind one interface, :class:`peerlane.storage.base.Store`.

:class:`peerlane.storage.sql.SqlStore` serves both the embedded default (SQLite through
aiosqlite, WAL mode) and the scale-out back-end (PostgreSQL through asyncpg): the same
SQLAlchemy code with another URL. Schema changes go through Alembic migrations.
"""

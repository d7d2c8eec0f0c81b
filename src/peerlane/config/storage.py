"""Where the server keeps its state (database, bus, secret) and how long rooms keep it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from peerlane.config._values import DAY


class StorageOptions(BaseModel):
    """The storage group of :class:`peerlane.config.Settings` (never used alone)."""

    data_dir: Path = Field(
        Path(".peerlane"), description="Directory for the database, secret and certificates."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL (default: SQLite file in the data directory; "
        "postgresql+asyncpg://… for PostgreSQL).",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL (redis://host:6379/0) for the scale-out bus: fan-out and "
        "presence across instances (default: in-process).",
    )
    backend_connect_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds to wait for a connection to PostgreSQL or Redis before the "
        "request fails with `unavailable` (503, Retry-After) instead of hanging.",
    )
    backend_command_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds one PostgreSQL statement or Redis command may take before it "
        "fails (the request then answers `unavailable`, 503); also the longest wait for a "
        "free pooled PostgreSQL connection.",
    )
    presence_ttl: float = Field(
        30.0,
        gt=0,
        description="With Redis: seconds a presence entry lives unless its instance "
        "refreshes it (every third of this); the peers of an instance that died vanish "
        "from the room's peer list within this time.",
    )
    secret: SecretStr | None = Field(
        None,
        description="Secret for signing session tokens (default: generated once and "
        "kept in the database).",
    )

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'peerlane.db').resolve()}"


class RetentionOptions(BaseModel):
    """The retention group of :class:`peerlane.config.Settings` (never used alone)."""

    retention_max_age: float | None = Field(
        90 * DAY, gt=0, description="Default seconds a message is kept (unset: forever)."
    )
    retention_max_messages: int | None = Field(
        100_000, ge=1, description="Default messages kept per room (unset: no limit)."
    )
    room_idle_expiry: float | None = Field(
        30 * DAY,
        gt=0,
        description="Default seconds without activity (a message, a join, anyone "
        "connected) before a room is deleted.",
    )
    cleanup_interval: float = Field(60.0, gt=0, description="Seconds between cleanup runs.")

"""A back-end service (PostgreSQL, Redis) that is down or unreachable, told apart from a bug.

While one of them restarts, a request that needs it fails: that is no internal error
(500) but a passing outage, answered with ``unavailable`` (503, ``Retry-After``) over
HTTP and with an ``unavailable`` error frame and close 1013 (try again later) on a
WebSocket, which clients answer by retrying with their usual backoff.
"""

from __future__ import annotations

import errno

import asyncpg  # type: ignore[import-untyped]
import redis.exceptions
from sqlalchemy import exc as sa

# Seconds a client is told to wait before trying again (HTTP Retry-After).
RETRY_AFTER = 2

_OUTAGES: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,  # refused, reset, closed by a restarting server
    redis.exceptions.TimeoutError,  # the connect or command timeout
    redis.exceptions.BusyLoadingError,  # a Redis with persistence still loading its data
    asyncpg.exceptions.CannotConnectNowError,  # PostgreSQL starting up or shutting down
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    sa.TimeoutError,  # no pooled connection became free within the pool timeout
    ConnectionError,  # OSError subclasses: refused, reset, aborted
    TimeoutError,  # asyncpg's connect and command timeouts
)

_SOCKET_ERRORS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EPIPE,
    errno.ETIMEDOUT,
}


def is_outage(exc: BaseException) -> bool:
    """Did ``exc`` come from a back-end service being unavailable (rather than a bug)?

    SQLAlchemy wraps the driver's error (``DBAPIError`` with the original as
    ``orig``/``__cause__``), a TaskGroup wraps its tasks' errors in a group: both are
    looked through."""
    if isinstance(exc, BaseExceptionGroup):
        return all(is_outage(inner) for inner in exc.exceptions)
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _OUTAGES):
            return True
        if isinstance(current, sa.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OSError) and current.errno in _SOCKET_ERRORS:
            return True  # a connection's socket: host unreachable, broken pipe, ...
        orig = getattr(current, "orig", None)  # SQLAlchemy's wrapped driver error
        if isinstance(orig, BaseException) and orig is not current and id(orig) not in seen:
            current = orig
            continue
        current = current.__cause__ or current.__context__
    return False

"""Structured logging: JSON or human-readable, a request or connection id on every line.

Ids are bound with structlog's contextvars, so every line logged while handling a
request or a WebSocket carries them without being passed around. Tokens and invite
secrets are never logged: the middleware logs paths (invite secrets live in URL
fragments and request bodies, which never reach it) and never headers.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure(*, fmt: str = "console", level: str = "info") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def get(name: str) -> Any:
    return structlog.get_logger(name)

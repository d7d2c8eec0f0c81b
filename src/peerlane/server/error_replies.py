"""Every error the server sends, built here: the one shape, the one metric increment.

HTTP handlers (FastAPI's exception handlers, the tus routes, downloads), the ASGI
middleware (body cap, unexpected exceptions, NUL paths) and the WebSocket driver (refused
sockets, the session's error frames) all answer through these functions, so the body is
always ``{"error": {"code", "message"}}`` and ``peerlane_errors_total`` counts each
error sent exactly once, by code and transport.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from fastapi.responses import JSONResponse

from peerlane.core import protocol as p
from peerlane.errors import HTTP_STATUS, ErrorCode, PeerlaneError, error_body
from peerlane.server.metrics import Metrics
from peerlane.server.outages import RETRY_AFTER

# The session's error frames start so (core/protocol.py dumps ``type`` first, compactly).
_ERROR_FRAME = '{"type":"error"'


def count(metrics: Metrics, code: ErrorCode | str, transport: str) -> None:
    """One error sent to a client (the only place the errors metric is incremented)."""
    metrics.errors.labels(str(code), transport).inc()


def http_error(
    metrics: Metrics,
    code: ErrorCode,
    message: str | None = None,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    counted: bool = True,
) -> JSONResponse:
    """An HTTP error response (status: the code's own unless given), counted unless
    nobody will read it (``counted=False``: the client is gone)."""
    if counted:
        count(metrics, code, "http")
    return JSONResponse(
        error_body(code, message),
        status_code=status if status is not None else HTTP_STATUS[code],
        headers=dict(headers or {}),
    )


def http_exception(metrics: Metrics, exc: PeerlaneError) -> JSONResponse:
    """The response for a :class:`PeerlaneError`, with ``Retry-After`` when it says
    when to try again (an upload busy in another request: in a second)."""
    headers = {}
    if exc.retry_after is not None:
        headers["retry-after"] = str(max(1, round(exc.retry_after)))
    if exc.code is ErrorCode.UPLOAD_LOCKED:
        headers["retry-after"] = "1"
    return http_error(metrics, exc.code, exc.message, status=exc.http_status, headers=headers)


def unavailable(metrics: Metrics) -> JSONResponse:
    """A back-end service (PostgreSQL, Redis) is down for a moment: 503 and when to retry."""
    return http_error(
        metrics,
        ErrorCode.UNAVAILABLE,
        UNAVAILABLE_MESSAGE,
        status=503,
        headers={"retry-after": str(RETRY_AFTER)},
    )


UNAVAILABLE_MESSAGE = "A service the server needs is unavailable; try again in a few seconds."


def websocket_error(metrics: Metrics, code: ErrorCode, message: str | None = None) -> str:
    """An ``error`` frame for a WebSocket client, counted."""
    count(metrics, code, "websocket")
    return p.dump(p.error_message(code, message))


def count_frame(metrics: Metrics, text: str) -> None:
    """Count a frame the session built, if it is an error frame."""
    if text.startswith(_ERROR_FRAME):
        count(metrics, json.loads(text)["error"]["code"], "websocket")

"""Requests whose path holds a NUL character name nothing: answered here, before routing.

Ids are URL-safe base64 and file names are cleaned, so no resource's path has a NUL
(``%00`` in the URL). Passed on, a NUL would reach the database as part of an id, and
PostgreSQL refuses NUL in text outright: a 500 where there should be a 404.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from peerlane.errors import ErrorCode
from peerlane.server import error_replies as replies
from peerlane.server.metrics import Metrics

CLOSE_POLICY_VIOLATION = 1008


class RejectNulPaths:
    """A 404 (the one error shape) for an HTTP request, a refused WebSocket handshake,
    when the decoded path contains a NUL."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or "\x00" not in scope["path"]:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION})
            return
        response = replies.http_error(self.metrics, ErrorCode.NOT_FOUND, status=404)
        await response(scope, receive, send)

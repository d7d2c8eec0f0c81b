"""Pure ASGI middleware (it must not buffer WebSockets or streams).

For every HTTP request: a request id, one access-log line, the latency metric, the
security headers, and a cap on the request body size.
"""

from __future__ import annotations

import json
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from peerlane.core.records import new_id
from peerlane.errors import ErrorCode, error_body
from peerlane.server import logs
from peerlane.server.metrics import Metrics

log = logs.get(__name__)

# No inline script or style anywhere: the web client is plain ES modules and CSS files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; media-src 'self' blob:; worker-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers(tls: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]
    if tls:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


class HttpMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, tls: bool, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.headers = security_headers(tls)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id(6)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        limit = self.max_body if scope["path"].startswith("/api/") else None

        declared = _content_length(scope)
        if limit is not None and declared is not None and declared > limit:
            await _reject_too_large(send, self.headers, limit)
            structlog.contextvars.unbind_contextvars("request_id")
            return

        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if limit is not None and message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def wrapped_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(self.headers)
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, capped_receive, wrapped_send)
        except _BodyTooLarge:
            status = 413
            await _reject_too_large(send, self.headers, limit or 0)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_name(scope)
            self.metrics.latency.labels(scope["method"], route).observe(elapsed)
            log.info(
                "http",
                method=scope["method"],
                path=route,
                status=status,
                ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")


class _BodyTooLarge(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _route_name(scope: Scope) -> str:
    """The route template (``/api/rooms/{room_id}``), never the concrete path: bounded
    metric labels, and no ids in logs."""
    route: Any = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


async def _reject_too_large(send: Send, headers: list[tuple[bytes, bytes]], limit: int) -> None:
    body = json.dumps(
        error_body(ErrorCode.MESSAGE_TOO_LARGE, f"Request bodies are limited to {limit} bytes.")
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

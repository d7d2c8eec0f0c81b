"""Pure ASGI middleware (it must not buffer WebSockets or streams).

For every HTTP request: a request id, one access-log line, the latency metric, the
security headers, and a cap on the request body size.
"""

from __future__ import annotations

import re
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from peerlane.core.records import new_id
from peerlane.errors import ErrorCode
from peerlane.server import error_replies as replies
from peerlane.server import logs
from peerlane.server.import_map import IMPORT_MAP_CSP_SOURCE
from peerlane.server.metrics import Metrics
from peerlane.server.outages import is_outage

log = logs.get(__name__)

# No inline script or style anywhere (the web client is plain ES modules and CSS files) but
# the import map, named by its hash.
CSP = (
    f"default-src 'self'; script-src 'self' {IMPORT_MAP_CSP_SOURCE}; style-src 'self'; "
    "img-src 'self' data: blob:; "
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
        limit = self.max_body if _capped(scope["path"]) else None

        headers = [*self.headers, (b"x-request-id", request_id.encode())]

        async def send_error(code: ErrorCode, message: str | None) -> None:
            response = replies.http_error(self.metrics, code, message)
            response.raw_headers.extend(headers)
            await response(scope, receive, send)

        async def send_unavailable() -> None:
            response = replies.unavailable(self.metrics)
            response.raw_headers.extend(headers)
            await response(scope, receive, send)

        too_large = f"Request bodies are limited to {limit} bytes."
        declared = _content_length(scope)
        if limit is not None and declared is not None and declared > limit:
            await send_error(ErrorCode.MESSAGE_TOO_LARGE, too_large)
            structlog.contextvars.unbind_contextvars("request_id")
            return

        received = 0
        responding = False  # the app began its response
        refused = False  # the 413 was sent while the app read the body

        async def capped_receive() -> Message:
            nonlocal received, refused, status
            message = await receive()
            if limit is not None and message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer here: FastAPI turns any exception raised while it reads the
                    # body into a 400, which would otherwise reach the client instead.
                    if not responding and not refused:
                        refused, status = True, 413
                        await send_error(ErrorCode.MESSAGE_TOO_LARGE, too_large)
                    raise _BodyTooLarge
            return message

        async def wrapped_send(message: Message) -> None:
            nonlocal status, responding
            if refused:
                return  # the app's own answer to the aborted read; the 413 went out
            if message["type"] == "http.response.start":
                responding = True
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        try:
            await self.app(scope, capped_receive, wrapped_send)
        except _BodyTooLarge:
            pass  # answered in capped_receive
        except Exception as exc:
            # Answered here rather than by Starlette's outermost error layer, so the
            # reply carries the security headers and the request id like any other.
            if is_outage(exc):
                # PostgreSQL or Redis down for a moment: a clear, retryable answer.
                log.warning("unavailable", error=type(exc).__name__)
                if not responding:
                    status = 503
                    await send_unavailable()
            else:
                log.exception("unhandled")
                if not responding:
                    status = 500
                    await send_error(ErrorCode.INTERNAL_ERROR, None)
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


# tus upload URLs take file bytes in PATCH bodies, streamed to disk; the upload's
# declared length and the file size limits bound them instead.
_UPLOAD_URL = re.compile(r"^/api/(?:files|rooms/[^/]+)/uploads/[^/]+$")


def _capped(path: str) -> bool:
    """Bodies under /api/ are JSON and capped, except those sent to upload URLs."""
    return path.startswith("/api/") and _UPLOAD_URL.match(path) is None


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
    metric labels, and no ids in logs. A mount (the static files) sets no route; it adds
    its path to ``root_path``: ``/static/{path}``."""
    route: Any = scope.get("route")
    if path := getattr(route, "path", None):
        return str(path)
    if "app_root_path" in scope:
        mounted = str(scope.get("root_path", ""))[len(str(scope["app_root_path"])) :]
        if mounted:
            return mounted + "/{path}"
    return "unmatched"

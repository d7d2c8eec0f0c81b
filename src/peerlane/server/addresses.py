"""The client's address, for HTTP and WebSockets alike.

:class:`ForwardedMiddleware` replaces uvicorn's proxy-headers middleware (which, told to
trust every proxy, took the left-most ``X-Forwarded-For`` entry: the one the client
writes). It believes only the proxies the settings name (core.addresses.ProxyTrust),
and rewrites ``scope["client"]`` and ``scope["scheme"]`` from them, so everything
after it — routes, the WebSocket, logs — sees the client. :func:`client_address` is the
one key every per-IP limit uses.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from peerlane.config import Settings
from peerlane.core.addresses import ProxyTrust, limit_key, split_forwarded


class ForwardedMiddleware:
    def __init__(self, app: ASGIApp, *, trust: ProxyTrust) -> None:
        self.app = app
        self.trust = trust

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.trust.enabled and scope["type"] in ("http", "websocket"):
            apply_forwarded(scope, self.trust)
        await self.app(scope, receive, send)


def apply_forwarded(scope: Scope, trust: ProxyTrust) -> None:
    """Rewrite the scope's client (and scheme) from the proxies' headers, if believed."""
    peer = scope.get("client")
    forwarded, protos = [], []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
        elif name == b"x-forwarded-proto":
            protos.append(value.decode("latin-1"))
    if peer is None or not forwarded:
        return
    client, believed = trust.resolve(peer[0], split_forwarded(forwarded))
    if believed == 0:
        return
    scope["client"] = (client, 0)
    entries = split_forwarded(protos)
    if entries:
        # The scheme the same (outermost believed) proxy saw.
        proto = entries[max(0, len(entries) - believed)].lower()
        if proto in ("http", "https", "ws", "wss"):
            secure = proto in ("https", "wss")
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = "https" if secure else "http"


def client_address(conn: HTTPConnection, settings: Settings) -> str:
    """The key per-IP limits count this request or WebSocket under: the client's address
    (after :class:`ForwardedMiddleware`), an IPv6 client's ``/ipv6_prefix`` network."""
    client = conn.scope.get("client")
    return limit_key(client[0], settings.ipv6_prefix) if client else "unknown"

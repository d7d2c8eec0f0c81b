"""Run the app on uvicorn: banner with URL and QR code, graceful WebSocket shutdown."""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import TextIO

import segno
import uvicorn
from fastapi import FastAPI

from peerlane.config import Settings
from peerlane.server import malloc, tls
from peerlane.server.app import create_app
from peerlane.server.peerjs import PeerjsSockets
from peerlane.server.services import Services
from peerlane.server.ws import RoomSockets
from peerlane.server.ws_transport import WebSocketProtocol


class PeerlaneServer(uvicorn.Server):
    """uvicorn, plus: WebSockets close with 1001 "going away" before the listeners stop,
    so clients reconnect (to another instance, or to this one after a restart)."""

    def __init__(
        self,
        config: uvicorn.Config,
        services: Services,
        sockets: RoomSockets,
        banner: bool,
        peerjs: PeerjsSockets | None = None,
    ) -> None:
        super().__init__(config)
        self.services = services
        self.sockets = sockets
        self.banner = banner
        self.peerjs = peerjs

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.banner:
            print_banner(self.services.settings, self._bound_port())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.sockets.drain()
        if self.peerjs is not None:
            await self.peerjs.drain()
        await super().shutdown(sockets)

    def _bound_port(self) -> int:
        for server in self.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.services.settings.port


def print_banner(
    settings: Settings,
    port: int,
    *,
    addresses: list[str] | None = None,
    out: TextIO | None = None,
) -> None:
    """Where to reach the server, and a QR code of it for a phone. Bound to every
    interface, it lists this host's LAN addresses (``addresses``, default: asked of the
    system) and the QR code is of the first: a QR code of 127.0.0.1 is of no use to a
    phone, so none is printed when only loopback is known."""
    out = out or sys.stdout
    scheme = "https" if settings.tls else "http"

    def url(host: str) -> str:
        return f"{scheme}://{_bracket(host)}:{port}/"

    scan: str | None
    if settings.public_url:
        urls, scan = [settings.public_url], settings.public_url
    elif settings.host in ("0.0.0.0", "::", ""):  # noqa: S104 - only choosing what to display
        found = tls.local_addresses() if addresses is None else addresses
        lan = [a for a in dict.fromkeys(found) if not _is_loopback(a)]
        urls = [url(a) for a in lan] + [url("127.0.0.1") + " (this computer)"]
        scan = url(lan[0]) if lan else None
    else:
        urls = [url(settings.host)]
        scan = None if _is_loopback(settings.host) else urls[0]
    out.write("\npeerlane is running at " + "\n                       ".join(urls) + "\n\n")
    if scan is not None:
        segno.make(scan, error="l").terminal(out=out, compact=True)
        out.write(f"(QR code of {scan})\n")
    elif settings.host in ("0.0.0.0", "::", ""):  # noqa: S104
        out.write("No LAN address found: give phones the address by hand.\n")
    if settings.tls:
        cert = settings.tls_cert or settings.data_dir / "tls" / "cert.pem"
        out.write(f"\nTLS certificate SHA-256 fingerprint:\n  {tls.fingerprint(cert)}\n")
    out.write("\nPress Ctrl+C to stop.\n")
    out.flush()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve(settings: Settings, *, banner: bool = True) -> None:
    malloc.tune()
    cert, key = settings.tls_cert, settings.tls_key
    if settings.self_signed:
        cert, key = tls.ensure_self_signed(settings.data_dir / "tls")
    app: FastAPI = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        log_config=None,
        access_log=False,
        # Never uvicorn's: trusting "*" it takes the left-most X-Forwarded-For entry,
        # which the client chooses. server.addresses.ForwardedMiddleware does it instead.
        proxy_headers=False,
        # The session answers a moderately oversized frame with an error and keeps the
        # connection; only frames beyond this hard cap close it (1009).
        ws_max_size=max(1 << 20, 4 * settings.max_ws_message_bytes),
        ws_per_message_deflate=settings.ws_compression,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        timeout_graceful_shutdown=int(settings.shutdown_timeout),
        server_header=False,
        # uvicorn's websockets-sansio protocol with a fix for text that is not UTF-8 (a
        # clean 1007, one log line; issue #9): see ws_transport.py.
        ws=WebSocketProtocol,
    )
    peerjs = getattr(app.state, "peerjs", None)
    PeerlaneServer(config, app.state.services, app.state.sockets, banner, peerjs).run()

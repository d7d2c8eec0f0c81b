"""The WebSocket endpoint: accepts a room's sockets, authenticates them, runs each as a
:class:`~peerlane.server.ws_connection.Connection`, and drains them all at shutdown.
"""

from __future__ import annotations

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from peerlane.core import session as core
from peerlane.errors import ErrorCode, PeerlaneError
from peerlane.server import error_replies as replies
from peerlane.server import logs
from peerlane.server.addresses import client_address
from peerlane.server.auth import authenticate, claimed_participant
from peerlane.server.connections import ConnectionRegistry
from peerlane.server.outages import is_outage
from peerlane.server.pake_join import PakeJoins
from peerlane.server.services import Services
from peerlane.server.ws_connection import Connection
from peerlane.server.ws_handshake import refuse, refuse_open, url_hello

log = logs.get(__name__)
# Seconds a shutdown waits for the connections' tasks to close their sockets (1001).
DRAIN_TIMEOUT = 1.0


class RoomSockets:
    """The WebSocket driver of one app: the endpoint, ``/api/rooms/{room_id}/ws``, and
    the connections it keeps open (:class:`ConnectionRegistry`)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.connections: ConnectionRegistry[Connection] = ConnectionRegistry()
        self.pake = PakeJoins(services)

    async def drain(self, within: float = DRAIN_TIMEOUT) -> None:
        """Close every WebSocket with 1001 (going away) so clients reconnect elsewhere,
        and wait (at most ``within`` seconds) for their tasks to have closed them."""
        count = self.connections.close_all(core.CLOSE_GOING_AWAY, "server shutting down")
        if count:
            log.info("shutdown.drain", connections=count)
        if not await self.connections.wait_empty(within):
            log.warning("shutdown.drain_timeout", connections=len(self.connections))

    async def endpoint(self, ws: WebSocket, room_id: str) -> None:
        """Accept, then serve; a back-end service that is down (PostgreSQL, Redis) ends
        the socket with ``unavailable`` and 1013, which clients retry with backoff."""
        try:
            await ws.accept()
        except WebSocketDisconnect:
            return  # gone before the handshake was answered
        try:
            await self._serve(ws, room_id)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("ws.unavailable", error=type(exc).__name__)
            error = replies.websocket_error(
                self.services.metrics, ErrorCode.UNAVAILABLE, replies.UNAVAILABLE_MESSAGE
            )
            await refuse(ws, error, core.CLOSE_TRY_AGAIN_LATER, "service unavailable; retry")

    async def _serve(self, ws: WebSocket, room_id: str) -> None:
        """Authenticate, then run the session until it closes."""
        svc, connections = self.services, self.connections
        if connections.closing:
            await refuse(ws, None, core.CLOSE_GOING_AWAY, "server shutting down")
            return
        # Socket opens are counted before any storage lookup, so a reconnect storm costs
        # a handshake, a signature check and a limiter call per refused socket.
        address = client_address(ws, svc.settings)
        if await refuse_open(ws, svc, svc.limiters.ip_connects, address):
            return
        claimed = claimed_participant(svc, ws.headers, ws.cookies)
        if claimed is not None and await refuse_open(
            ws, svc, svc.limiters.participant_connects, claimed
        ):
            return
        try:
            caller = await authenticate(
                svc, room_id, ws.headers, ws.cookies, scheme=ws.url.scheme, needs_origin=True
            )
        except PeerlaneError as exc:
            code = (
                core.CLOSE_ROOM_GONE
                if exc.code is ErrorCode.ROOM_NOT_FOUND
                else core.CLOSE_UNAUTHORIZED
            )
            error = replies.websocket_error(svc.metrics, exc.code, exc.message)
            await refuse(ws, error, code, exc.code.value)
            return
        conn = Connection(
            ws, svc, caller, hello=url_hello(ws.query_params), address=address, pake=self.pake
        )
        if not connections.add(conn):  # the drain began while it was authenticated
            await refuse(ws, None, core.CLOSE_GOING_AWAY, "server shutting down")
            return
        structlog.contextvars.bind_contextvars(conn_id=conn.identity.peer_id)
        svc.metrics.connections.inc()
        log.info("ws.open", room=room_id)
        try:
            await conn.run()
        except Exception as exc:
            if is_outage(exc):
                raise  # answered by endpoint()
            log.exception("ws.failed")
            conn.close(core.CLOSE_INTERNAL, "internal error")
            await conn._close_socket()
        finally:
            connections.discard(conn)
            svc.metrics.connections.dec()
            log.info("ws.close", code=conn._close_code)
            structlog.contextvars.unbind_contextvars("conn_id")

"""The PeerJS-compatible signaling endpoint: the socket ``<peerjs_path>/peerjs``.

A raw ASGI WebSocket app (no framework wrapper on the relay path). Each connection has
one reader (the ASGI receive loop: a frame is read for its envelope by
``core.peerjs.read_frame`` and handed to the relay). A frame for a socket is written
in the sender's call, straight to uvicorn's protocol (``ws_transport.send_text_now``),
when nothing is waiting before it; otherwise it joins the socket's outbox, which a
writer task empties through the ASGI ``send`` (flow control: the client reads slowly).
Nobody waits for a slow reader: past ``OUTBOX_LIMIT`` frames it is closed. A sweep
every ``peerjs_cleanup_out_msgs`` seconds expires queues (EXPIRE) and closes sockets
silent for ``peerjs_alive_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send

from peerlane.bus.peerjs import MemoryPeerjsRelay, PeerjsRelay
from peerlane.bus.redis import RedisBus
from peerlane.core import peerjs as core
from peerlane.server import logs
from peerlane.server.addresses import client_address
from peerlane.server.connections import ConnectionRegistry
from peerlane.server.services import Services
from peerlane.server.ws_transport import SEND_NOW

log = logs.get(__name__)
OUTBOX_LIMIT = 1000  # frames a client may leave unread before it is cut off
CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_POLICY = 1000, 1001, 1008
CLOSE_TOO_BIG, CLOSE_TRY_LATER = 1009, 1013


def make_relay(services: Services) -> PeerjsRelay:
    s = services.settings
    if isinstance(services.bus, RedisBus):
        from peerlane.bus.peerjs_redis import RedisPeerjsRelay

        return RedisPeerjsRelay(
            services.bus, queue_limit=s.peerjs_queue_limit, ttl=services.bus.presence_ttl
        )
    return MemoryPeerjsRelay(queue_limit=s.peerjs_queue_limit)


class PeerConnection:
    """One PeerJS socket (``bus.peerjs.PeerSocket`` for the relay).

    Its writer task exists only while there is something to write: an idle socket
    holds no task (memory per connection is what an idle socket costs)."""

    __slots__ = (
        "_close",
        "_out",
        "_send",
        "_send_now",
        "_writer",
        "key",
        "last_heartbeat",
        "peer_id",
        "room_id",
    )

    def __init__(
        self,
        key: str,
        peer_id: str,
        send: Send,
        now: float,
        send_now: Callable[[str], int | None] | None = None,
    ) -> None:
        """``send_now``: the transport's write without awaiting (``ws_transport``'s
        ``SEND_NOW``; None under other servers, then every frame takes ``send``)."""
        self.key = key
        self.peer_id = peer_id
        self.room_id = ""  # for the ConnectionRegistry (PeerJS peers are in no room)
        self.last_heartbeat = now
        self._send = send
        self._send_now = send_now
        self._out: list[str] = []  # a list: an empty deque costs 760 bytes per socket
        self._writer: asyncio.Task[None] | None = None
        self._close: tuple[int, str] | None = None

    def deliver(self, text: str) -> None:
        if self._close is not None:
            return
        # Written now when nothing is queued or being written before it (the order
        # holds); a task wake-up and the ASGI send per frame were most of the relay's
        # CPU (docs/benchmarks.md, "PeerJS signaling").
        send_now = self._send_now
        if self._writer is None and send_now is not None and send_now(text) is not None:
            return
        if len(self._out) >= OUTBOX_LIMIT:
            self.close(CLOSE_POLICY, "not reading")
            return
        self._out.append(text)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    def replaced(self) -> None:
        self.close(CLOSE_NORMAL, "replaced by a newer connection")

    def close(self, code: int, reason: str) -> None:
        if self._close is None:
            self._close = (code, reason)
            if self._writer is None:
                self._writer = asyncio.create_task(self._write())

    async def closed(self) -> None:
        """Ask for a normal close (if none was asked for) and wait until it is sent."""
        self.close(CLOSE_NORMAL, "")
        if self._writer is not None:
            await self._writer

    async def _write(self) -> None:
        """The outbox in order, then the close if one was asked for. Nothing is added
        between the loop's last check and the end (no await there), so no frame is
        left behind without a writer."""
        out, send = self._out, self._send
        try:
            while out:
                batch = out[:]
                out.clear()
                for text in batch:
                    await send({"type": "websocket.send", "text": text})
            if self._close is not None:
                code, reason = self._close
                await send({"type": "websocket.close", "code": code, "reason": reason})
        except Exception:  # the client is gone: later frames for it are dropped
            out.clear()
            if self._close is None:
                self._close = (CLOSE_GOING_AWAY, "gone")
        finally:
            if self._close is None:
                self._writer = None


class PeerjsSockets:
    """The ASGI app of the socket route, and the sweep."""

    def __init__(self, services: Services, relay: PeerjsRelay) -> None:
        self.services = services
        self.relay = relay
        self.connections: ConnectionRegistry[PeerConnection] = ConnectionRegistry()
        s = services.settings
        self._keys = frozenset(s.peerjs_keys)
        secret = s.peerjs_token_secret
        self._token_secret = None if secret is None else secret.get_secret_value().encode()
        bus = services.bus
        # Checked on every frame: leased (see Bus.limiter).
        self._peer_limit = bus.limiter(
            "peerjs_peer", s.peerjs_messages_per_second, s.peerjs_message_burst, leased=True
        )
        self._ip_limit = bus.limiter(
            "peerjs_ip", s.peerjs_ip_messages_per_second, s.peerjs_ip_message_burst, leased=True
        )
        self.connect_limit = bus.limiter(
            "peerjs_connect", s.peerjs_ip_connects_per_minute / 60, s.peerjs_ip_connects_per_minute
        )
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.relay.start()
        self._sweeper = asyncio.create_task(self._sweep(), name="peerjs-sweep")

    async def drain(self, within: float = 1.0) -> None:
        """Close every socket with 1001 (going away: the client reconnects, to another
        instance if there is one) and wait, at most ``within`` seconds, until they are."""
        count = self.connections.close_all(CLOSE_GOING_AWAY, "server shutting down")
        if count:
            log.info("shutdown.peerjs_drain", connections=count)
        await self.connections.wait_empty(within)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.drain()
        await self.relay.close()

    async def _sweep(self) -> None:
        s = self.services.settings
        metrics = self.services.metrics
        while True:
            await asyncio.sleep(s.peerjs_cleanup_out_msgs)
            try:
                now = time.time()
                metrics.peerjs_expired.inc(await self.relay.expire(now, s.peerjs_expire_timeout))
                for conn in self.connections:
                    if not core.is_alive(conn.last_heartbeat, now, s.peerjs_alive_timeout):
                        conn.close(CLOSE_GOING_AWAY, "no heartbeat")
            except Exception:  # a failed sweep (Redis away) must not stop later ones
                log.exception("peerjs.sweep_failed")

    def check_token(self, key: str, peer_id: str, token: str) -> bool:
        if self._token_secret is None:
            return True
        return core.check_token(self._token_secret, key, peer_id, token, now=time.time())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        try:
            await send({"type": "websocket.accept"})
        except Exception:  # gone before the handshake was answered
            return
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        key, peer_id, token = query.get("key", ""), query.get("id", ""), query.get("token", "")
        try:
            refusal = await self._refusal(scope, key, peer_id, token)
        except Exception:  # the bus is away (Redis restarting): try again shortly
            log.exception("peerjs.unavailable")
            refusal = self._refused("unavailable", core.UNAVAILABLE), CLOSE_TRY_LATER
        if refusal is not None:
            frame, code = refusal
            await self._refuse(send, frame, code)
            return
        await self._run(key, peer_id, token, scope, receive, send)

    async def _refusal(
        self, scope: Scope, key: str, peer_id: str, token: str
    ) -> tuple[str, int] | None:
        """The ERROR frame and close code a new socket gets, or None: it may go on."""
        if self.connections.closing:
            return core.error_frame(core.UNAVAILABLE), CLOSE_GOING_AWAY
        address = client_address(HTTPConnection(scope), self.services.settings)
        if await self.connect_limit.take(address, time.time()) is not None:
            return self._refused("rate_limited", core.RATE_LIMITED), CLOSE_TRY_LATER
        problem = core.check_params(key, peer_id, token)
        if problem is not None:
            return self._refused("invalid_parameters", problem), CLOSE_POLICY
        if key not in self._keys:
            return self._refused("invalid_key", core.INVALID_KEY), CLOSE_POLICY
        if not self.check_token(key, peer_id, token):
            return self._refused("invalid_token", core.INVALID_TOKEN), CLOSE_POLICY
        return None

    def _refused(self, reason: str, message: str) -> str:
        self.services.metrics.peerjs_refused.labels(reason).inc()
        return core.error_frame(message)

    async def _refuse(self, send: Send, frame: str, code: int) -> None:
        with contextlib.suppress(Exception):  # the client may be gone already
            await send({"type": "websocket.send", "text": frame})
            await send({"type": "websocket.close", "code": code})

    async def _run(
        self, key: str, peer_id: str, token: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        metrics = self.services.metrics
        send_now = scope.get("extensions", {}).get(SEND_NOW)
        conn = PeerConnection(key, peer_id, send, time.time(), send_now)
        if not self.connections.add(conn):
            await self._refuse(send, core.error_frame(core.UNAVAILABLE), CLOSE_GOING_AWAY)
            return
        running = False
        opened = None
        try:
            limit = self.services.settings.peerjs_concurrent_limit
            opened = await self.relay.open(key, peer_id, token, conn, now=time.time(), limit=limit)
            if opened.claim is core.Claim.TAKEN:
                metrics.peerjs_refused.labels("id_taken").inc()
                await self._refuse(send, core.ID_TAKEN_FRAME, CLOSE_NORMAL)
                return
            if opened.claim is core.Claim.FULL:
                frame = self._refused("concurrent_limit", core.CONNECTION_LIMIT_EXCEED)
                await self._refuse(send, frame, CLOSE_TRY_LATER)
                return
            metrics.peerjs_connections.inc()
            conn.deliver(core.OPEN_FRAME)
            for text in opened.queued:
                conn.deliver(text)
            running = True
            address = client_address(HTTPConnection(scope), self.services.settings)
            await self._read(conn, address, receive)
        except Exception:  # the bus is away (Redis restarting): the client reconnects
            log.exception("peerjs.unavailable", peer=peer_id)
            frame = self._refused("unavailable", core.UNAVAILABLE)
            if not running:
                await self._refuse(send, frame, CLOSE_TRY_LATER)
            else:
                conn.deliver(frame)
                conn.close(CLOSE_TRY_LATER, "unavailable")
        finally:
            self.connections.discard(conn)
            if opened is not None and opened.claim in (core.Claim.NEW, core.Claim.AGAIN):
                metrics.peerjs_connections.dec()
                with contextlib.suppress(Exception):  # Redis away: the entry expires
                    await self.relay.leave(key, peer_id, conn)
            if running:
                await conn.closed()

    async def _read(self, conn: PeerConnection, address: str, receive: Receive) -> None:
        s = self.services.settings
        max_bytes = s.peerjs_max_message_bytes
        relay, relayed = self.relay, self.services.metrics.peerjs_relayed
        peer_limit, ip_limit = self._peer_limit, self._ip_limit
        key, src = conn.key, conn.peer_id
        src_json = json.dumps(src)
        peer_key = f"{key}\n{src}"
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            text = message.get("text")
            if text is None:
                text = message.get("bytes") or b""
            if len(text) > max_bytes:
                conn.close(CLOSE_TOO_BIG, "frame too large")
                return
            now = time.time()
            if (
                await peer_limit.take(peer_key, now) is not None
                or await ip_limit.take(address, now) is not None
            ):
                self.services.metrics.peerjs_refused.labels("rate_limited").inc()
                conn.deliver(core.error_frame(core.RATE_LIMITED))
                conn.close(CLOSE_TRY_LATER, "rate limited")
                return
            frame = core.read_frame(text, src_json)
            kind = frame.kind
            if kind is core.Kind.RELAY:
                await relay.relay(key, src, frame, now=now)
                relayed.inc()
            elif kind is core.Kind.HEARTBEAT:
                conn.last_heartbeat = now
            elif kind is core.Kind.LEAVE_SERVER:
                conn.close(CLOSE_NORMAL, "left")
                return

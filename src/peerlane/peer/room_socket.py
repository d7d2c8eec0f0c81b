"""The room WebSocket for the terminal: connects, feeds :class:`ChatClient`, reconnects.

The driver of :mod:`peerlane.core.chat_client`: it owns the socket, the backoff between
reconnects, the retry timer of rate-limited messages and the person's typed lines.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from peerlane.core import chat_client as cc
from peerlane.core import protocol as p
from peerlane.peer import EXIT_REFUSED, EXIT_UNREACHABLE, PeerError
from peerlane.peer.http_api import Membership
from peerlane.peer.telemetry import Reporter

BACKOFF_MIN = 0.25
BACKOFF_MAX = 15.0
RETRY_REFUSED_S = 2.0  # a rate-limited message is sent again after this
# How long reconnects may keep failing before giving up (a server gone for good).
GIVE_UP_AFTER_S = 300.0

Show = Callable[[cc.Event], None]
# A join-by-code frame's handler (peer/pake_member.py): the raw frame in, None if not one.
PakeHandler = Callable[[str | bytes], bool]


class RoomChat:
    def __init__(
        self,
        member: Membership,
        show: Show,
        client: cc.ChatClient | None = None,
        on_keys: Callable[[], Awaitable[None]] | None = None,
    ):
        self.member = member
        self.show = show
        self.client = client or cc.ChatClient()
        # Fetches the room keys wrapped to this member (peer/key_follow.py) when the
        # client asks (cc.KeysWanted); None: a room without encryption.
        self.on_keys = on_keys
        self._keys_task: asyncio.Task[None] | None = None
        self._keys_again = False
        self.ws: ClientConnection | None = None
        self._input_done = asyncio.Event()
        self._idle = asyncio.Event()  # input ended and nothing waits for an ack
        self.telemetry = Reporter(member)
        # Answers joins by short code (an encrypted room's member: peer/pake_member.py):
        # True when it took the frame, which then is not the chat client's.
        self.pake: PakeHandler | None = None

    async def run(self, lines: AsyncIterator[str] | None) -> None:
        """Chat until the input ends and every line sent is stored (or forever without
        input); a fatal close or a server gone for good raises :class:`PeerError`."""
        reader = asyncio.create_task(self._read(lines))
        connection = asyncio.create_task(self._connect_loop())
        idle = asyncio.create_task(self._idle.wait())
        try:
            done, _ = await asyncio.wait({connection, idle}, return_when=asyncio.FIRST_COMPLETED)
            if connection in done:
                connection.result()  # its PeerError
        finally:
            tasks = [reader, connection, idle, *filter(None, [self._keys_task])]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.telemetry.close()

    def type_line(self, text: str) -> None:
        self._emit(self.client.compose(uuid.uuid4().hex, text))

    def send_body(self, body: Any, kind: p.ChatKind) -> None:
        """A message of any kind (a file transfer's control message: "file"), with the
        same acks and resending as a typed line."""
        self._emit(self.client.compose(uuid.uuid4().hex, body, kind))

    def signal(self, to: str, kind: str, data: Any) -> None:
        """WebRTC signaling for one peer; dropped while disconnected (the link starts over)."""
        if kind in ("offer", "answer", "candidate", "bye"):
            self._send(p.Signal(to=to, kind=kind, data=data))

    async def _read(self, lines: AsyncIterator[str] | None) -> None:
        if lines is None:
            return  # no input: the chat only shows (runs until Ctrl-C)
        async for line in lines:
            if line.strip():
                self.type_line(line)
        self._input_done.set()
        self._check_idle()

    def _check_idle(self) -> None:
        if self._input_done.is_set() and not self.client.pending:
            self._idle.set()

    async def _connect_loop(self) -> None:
        backoff = BACKOFF_MIN
        failing_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            code, welcomed = await self._connection()
            if welcomed:
                failing_since, backoff = None, BACKOFF_MIN
            if not self.client.disconnected(code):
                raise PeerError(cc.close_reason(code), EXIT_REFUSED)
            now = loop.time()
            failing_since = failing_since or now
            if now - failing_since > GIVE_UP_AFTER_S:
                raise PeerError(
                    f"Lost the connection to {self.member.server} and could not get it back; "
                    "check your network and run the command again.",
                    EXIT_UNREACHABLE,
                )
            # The browser's reconnect backoff: doubling, with jitter, capped.
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(BACKOFF_MAX, backoff * 2)

    async def _connection(self) -> tuple[int | None, bool]:
        """One connection to the room, until it ends: its close code (None: no close
        frame, or it never opened) and whether the server said anything (the welcome
        first). A refused invite or session is a :class:`PeerError`."""
        code: int | None = None
        welcomed = False
        self.telemetry.started()
        try:
            async with connect(
                self.member.ws_url,
                additional_headers=self.member.auth,
                open_timeout=15,
                max_size=None,
            ) as ws:
                self.ws = ws
                await ws.send(self.client.hello().model_dump_json(exclude_none=True))
                async for raw in ws:
                    welcomed = True
                    self.telemetry.connected()  # the first frame, the welcome, counts
                    if self.pake is not None and self.pake(raw):
                        continue
                    self._emit(self.client.received(raw))
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            self.telemetry.failed("closed")  # only when closed before the welcome
        except InvalidStatus as exc:
            if exc.response.status_code in (401, 403, 404):
                raise PeerError(cc.close_reason(4401), EXIT_REFUSED) from exc
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            self.telemetry.failed("timeout" if isinstance(exc, TimeoutError) else "other")
        else:
            code = ws.close_code
        finally:
            self.ws = None
        return code, welcomed

    def send_frame(self, frame: dict[str, Any]) -> None:
        """A frame outside the chat protocol (a ``pake.*`` answer); dropped while
        disconnected (the server ends that attempt when the socket goes)."""
        ws = self.ws
        if ws is not None:
            task = asyncio.ensure_future(ws.send(json.dumps(frame)))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def _emit(self, events: list[cc.Event]) -> None:
        for event in events:
            if isinstance(event, cc.Out):
                self._send(event.frame)
                continue
            if isinstance(event, cc.KeysWanted):
                self._want_keys()
                continue
            if isinstance(event, cc.Refused) and event.retry and event.ref:
                asyncio.get_running_loop().call_later(RETRY_REFUSED_S, self._retry, event.ref)
            self.show(event)
        self._check_idle()

    def _want_keys(self) -> None:
        """One fetch at a time; a wish during one makes one more after it, so what
        waits for a key waits for a fetch that started after it came."""
        self._keys_again = True
        if self._keys_task is None:
            self._keys_task = asyncio.get_running_loop().create_task(self._fetch_keys())

    async def _fetch_keys(self) -> None:
        try:
            while self._keys_again:
                self._keys_again = False
                if self.on_keys is not None:
                    await self.on_keys()
        finally:
            self._keys_task = None  # (cancelled when the chat ends: nothing more to show)
        self._emit(self.client.keys_fetched())

    def _retry(self, client_id: str) -> None:
        self._emit(self.client.retry(client_id))

    def _send(self, frame: p.Hello | p.Chat | p.Signal) -> None:
        ws = self.ws
        if ws is None:
            return  # not connected: the message stays pending and goes after the next synced
        text = frame.model_dump_json(exclude_none=True)
        task = asyncio.ensure_future(ws.send(text))
        # A send on a socket that just broke fails; the reconnect resends what is pending.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

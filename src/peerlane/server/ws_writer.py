"""The frames of one room socket, written in the order the session decided them.

Frames join the outbox as soon as they are decided (:meth:`FrameWriter.queue`). They
are then written without awaiting when nothing stands in the way (:meth:`write_now`:
the transport takes them, no other write is under way), which is how a room message
reaches every socket of the room from the publisher's own call; otherwise by
:meth:`flush`, through the ASGI ``send`` under the write lock, which waits while the
client reads slowly. Whoever writes takes the frames from the front of the one outbox,
so the order holds whichever way each frame leaves.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocketDisconnect, WebSocketState

from peerlane.server import error_replies as replies
from peerlane.server.metrics import Metrics
from peerlane.server.ws_transport import SEND_NOW


class FrameWriter:
    def __init__(self, ws: Any, metrics: Metrics) -> None:
        self.ws = ws
        self._metrics = metrics
        scope = getattr(ws, "scope", None) or {}
        # uvicorn's protocol, through server.ws_transport; absent under other servers.
        self._send_now: Callable[[str], int | None] | None = scope.get("extensions", {}).get(
            SEND_NOW
        )
        self._outbox: deque[str] = deque()
        self._lock = asyncio.Lock()
        self.gone = False  # the client went away while a frame was written

    @property
    def backlog(self) -> int:
        """Frames decided and not written yet (the client reads slowly, or a write waits)."""
        return len(self._outbox)

    def queue(self, frames: list[str]) -> None:
        for text in frames:
            replies.count_frame(self._metrics, text)
        self._outbox.extend(frames)

    def discard(self) -> None:
        """Nothing queued is written (the connection is closing)."""
        self._outbox.clear()

    def write_now(self) -> bool:
        """Write the queued frames without awaiting: True when none is left. False when
        some are left for :meth:`flush`: a flush is under way (the frames go after its
        own), or the transport wants the ASGI path (flow control, closing)."""
        send_now = self._send_now
        if send_now is None or self._lock.locked():
            return not self._outbox
        outbox = self._outbox
        written = 0
        while outbox:
            if not self._open():
                outbox.clear()
                break
            size = send_now(outbox[0])
            if size is None:
                break
            outbox.popleft()
            written += size
        self._metrics.websocket_bytes_unsettled += written
        return not outbox

    async def flush(self) -> None:
        """Write the queued frames, in queue order; whoever holds the lock writes them all."""
        async with self._lock:
            while self._outbox:
                if not self._open():
                    self._outbox.clear()
                    return
                text = self._outbox.popleft()
                try:
                    await self.ws.send_text(text)
                    self._metrics.websocket_bytes_unsettled += len(text.encode())
                except WebSocketDisconnect:
                    # The client went away after the check (its close is in flight): there
                    # is no one left to send to. A normal end, as when the reader sees it.
                    # (Starlette marks the socket's application side disconnected, and
                    # _open() says so to the sends that follow.)
                    self._outbox.clear()
                    self.gone = True
                    return

    def _open(self) -> bool:
        """Both sides of the socket still connected: there is someone to send to."""
        return (
            self.ws.client_state is WebSocketState.CONNECTED
            and self.ws.application_state is WebSocketState.CONNECTED
        )

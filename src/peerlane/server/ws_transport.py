"""The WebSocket transport: uvicorn's websockets-sansio protocol, with one fix.

A text message that is not UTF-8 must close the connection with 1007 (invalid frame
payload data, RFC 6455 §8.1). uvicorn's protocol (0.55) does close with 1007, but logs a
traceback for every such message: any participant can fill the log. Worse, when the
client's close frame arrives in the same read, the close reply is already on its way;
uvicorn then tries to send 1007 too, ``websockets`` refuses (``InvalidState``), the
exception escapes ``data_received``, and the event loop logs three tracebacks ("Fatal
error on transport") and drops the connection without a close frame (1006).

This subclass checks text messages before uvicorn decodes them and refuses a bad one
quietly: 1007 if the connection is still open, the close already under way otherwise;
one log line. The rest is uvicorn's: handshake, permessage-deflate, size limit, pings.

It also writes a text message without the ASGI round trip (:meth:`send_text_now`, found
in the socket's scope under :data:`SEND_NOW`): a room message goes to every socket of the
room, and uvicorn's ``send`` (an awaited coroutine per frame, under Starlette's wrappers)
was most of the server's CPU per message in the chat fan-out bench (docs/benchmarks.md).
Without compression the frame's bytes are the same for every socket, so consecutive sends
of one text serialize it once.

uvicorn's other implementation (``ws="websockets"``, on the legacy ``websockets`` API)
behaves well here, but is deprecated by both projects and measured no faster
(docs/architecture.md, "Dependencies"); ``tests/integration/test_ws_transport.py``
checks the behaviour end to end, so an upgrade that changes uvicorn's internals shows.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State

from peerlane.server import logs

log = logs.get(__name__)
CLOSE_INVALID_DATA = 1007
# The scope's extension holding the socket's send_text_now (absent on other servers).
SEND_NOW = "peerlane.send_text_now"


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol; a text message that is not UTF-8 closes the
    connection with 1007 and one log line, whenever it arrives."""

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent and not _utf8(self.frames):
            self.frames = []
            self._refuse_invalid_text()
            return
        super().send_receive_event_to_app()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)  # none when the handshake was refused
        if scope is not None:
            scope["extensions"][SEND_NOW] = self.send_text_now

    def send_text_now(self, text: str) -> int | None:
        """Write one text message now, without awaiting: the payload's size in bytes, or
        None when it must take the ASGI ``send`` instead, which waits (flow control:
        the client reads slowly) or raises (not open, closing, gone) as uvicorn's does."""
        conn = self.conn
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.transport.is_closing()
            or conn.state is not State.OPEN
            or conn.expect_continuation_frame
            or conn.writes  # never ahead of bytes websockets still holds
        ):
            return None
        if conn.extensions:  # compressed: each socket has its own deflate context
            payload = text.encode()
            conn.send_text(payload)
            self.transport.write(b"".join(conn.data_to_send()))
            return len(payload)
        frame, size = _uncompressed_frame(text)
        self.transport.write(frame)
        return size

    def _refuse_invalid_text(self) -> None:
        log.info("ws.invalid_text", client=self.client[0] if self.client else None)
        if self.conn.state is State.OPEN:
            self.conn.send_close(CLOSE_INVALID_DATA, "text is not UTF-8")
        if self.conn.close_sent is not None:
            # Tell the app the connection is over, send the close, stop reading.
            self.handle_parser_exception()
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": CLOSE_INVALID_DATA})
        self.close_sent = True
        self.transport.close()


def _utf8(frames: list[bytes]) -> bool:
    """Whether the message made of ``frames`` is valid UTF-8 (uvicorn decodes it again,
    which for a chat message costs microseconds)."""
    try:
        (frames[0] if len(frames) == 1 else b"".join(frames)).decode()
    except UnicodeDecodeError:
        return False
    return True


_last_frame: tuple[str, bytes, int] = ("", b"", 0)


def _uncompressed_frame(text: str) -> tuple[bytes, int]:
    """The bytes of a server's unmasked, uncompressed text frame of ``text`` and the
    payload's size: what websockets' Protocol.send_text would write. The last one is
    kept, so a room message sent to every socket in turn is serialized once."""
    global _last_frame
    last, frame, size = _last_frame
    if text is not last:
        payload = text.encode()
        frame = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
        size = len(payload)
        _last_frame = (text, frame, size)
    return frame, size

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

uvicorn's other implementation (``ws="websockets"``, on the legacy ``websockets`` API)
behaves well here, but is deprecated by both projects and measured no faster
(docs/architecture.md, "Dependencies"); ``tests/integration/test_ws_transport.py``
checks the behaviour end to end, so an upgrade that changes uvicorn's internals shows.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from peerlane.server import logs

log = logs.get(__name__)
CLOSE_INVALID_DATA = 1007


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol; a text message that is not UTF-8 closes the
    connection with 1007 and one log line, whenever it arrives."""

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent and not _utf8(self.frames):
            self.frames = []
            self._refuse_invalid_text()
            return
        super().send_receive_event_to_app()

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

"""A client that goes away while the server sends to it ends its connection normally.

The race: the socket is still CONNECTED when ``_send`` checks, and the client's close is
already in flight when the frame goes out, so the send raises WebSocketDisconnect. It
used to escape the connection's task group and be logged as ``ws.failed`` (an error,
with a traceback, and close code 1011). A recording fake socket makes the race happen
every time.
"""

from __future__ import annotations

from pathlib import Path

from starlette.websockets import WebSocketDisconnect, WebSocketState

from peerlane.core import session as core
from ws_fakes import fake_connection


class ClosingSocket:
    """Says it is connected, but the client is gone: like Starlette's WebSocket, the
    first send raises WebSocketDisconnect and marks the application side disconnected,
    and a send after that is a RuntimeError."""

    def __init__(self) -> None:
        self.client_state = WebSocketState.CONNECTED
        self.application_state = WebSocketState.CONNECTED
        self.sent: list[str] = []
        self.closes: list[tuple[int, str]] = []

    async def send_text(self, text: str) -> None:
        if self.application_state is not WebSocketState.CONNECTED:
            raise RuntimeError('Cannot call "send" once a close message has been sent.')
        self.sent.append(text)
        self.application_state = WebSocketState.DISCONNECTED
        raise WebSocketDisconnect(code=1006)

    async def close(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))
        raise WebSocketDisconnect(code=1006)


async def test_a_send_to_a_client_that_went_away_ends_the_connection(tmp_path: Path) -> None:
    ws = ClosingSocket()
    conn = fake_connection(tmp_path, ws)
    # two sends in one batch (a presence and a message, say): no exception escapes
    await conn.perform([core.Send('{"type":"pong"}'), core.Send('{"type":"pong","n":2}')])
    assert ws.sent == ['{"type":"pong"}']  # the second found the socket closed
    assert conn._closed.is_set()
    assert conn._close_code == core.CLOSE_NORMAL  # not 1011, "internal error"


async def test_closing_a_socket_the_client_already_closed_is_quiet(tmp_path: Path) -> None:
    ws = ClosingSocket()
    conn = fake_connection(tmp_path, ws)
    conn.close(1000, "bye")
    await conn._close_socket()  # the close raced the client's: no exception escapes
    assert ws.closes == [(1000, "bye")]
    await conn.perform([core.Send('{"type":"pong"}')])  # the send fails: the end is quiet
    await conn._close_socket()  # nothing left to close
    assert ws.closes == [(1000, "bye")]

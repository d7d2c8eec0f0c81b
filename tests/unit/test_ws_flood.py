"""Once the server decides to close a flooder, it reads none of its queued frames."""

from __future__ import annotations

from pathlib import Path

from starlette.websockets import WebSocketState

from peerlane.core import session as core
from ws_fakes import fake_connection


class BackloggedSocket:
    """A client that has queued ``count`` bad frames: like Starlette's WebSocket with a
    full queue, receive() hands each one over without yielding to the event loop."""

    def __init__(self, count: int) -> None:
        self.client_state = WebSocketState.CONNECTED
        self.application_state = WebSocketState.CONNECTED
        self.backlog = count
        self.received = 0
        self.sent: list[str] = []

    async def receive(self) -> dict[str, object]:
        if self.backlog == 0:
            return {"type": "websocket.disconnect", "code": 1000}
        self.backlog -= 1
        self.received += 1
        return {"type": "websocket.receive", "text": "{"}  # invalid JSON: an error each

    async def send_text(self, text: str) -> None:
        self.sent.append(text)


async def test_no_queued_frame_is_read_after_the_close_decision(tmp_path: Path) -> None:
    ws = BackloggedSocket(10_000)
    conn = fake_connection(tmp_path, ws)

    await conn._read()

    burst = int(core.SessionLimits().error_burst)
    assert conn._close_code == core.CLOSE_POLICY
    assert ws.received == burst + 1  # the errors tolerated, then the one that closed it
    assert len(ws.sent) == burst

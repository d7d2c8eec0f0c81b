"""Once the server decides to close a flooder, it reads none of its queued frames."""

from __future__ import annotations

from pathlib import Path

from starlette.websockets import WebSocketState

from peerlane.config import load_settings
from peerlane.core import session as core
from peerlane.core.records import Participant, Retention, Room, SessionRecord
from peerlane.server.app import create_app
from peerlane.server.auth import Caller
from peerlane.server.ws_connection import Connection


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
    services = create_app(load_settings(data_dir=tmp_path)).state.services
    room = Room("r1", "Room", "u1", 0.0, 0.0, 0, Retention())
    session = SessionRecord("s1", "u1", "r1", 0.0, 1e12)
    caller = Caller(
        room, Participant("u1", "r1", "Ann", "owner", 0.0), via_cookie=False, session=session
    )
    ws = BackloggedSocket(10_000)
    conn = Connection(ws, services, caller)  # type: ignore[arg-type]  # a recording fake

    await conn._read()

    burst = int(core.SessionLimits().error_burst)
    assert conn._close_code == core.CLOSE_POLICY
    assert ws.received == burst + 1  # the errors tolerated, then the one that closed it
    assert len(ws.sent) == burst

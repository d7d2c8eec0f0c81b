"""A room event is decided and written in the publisher's call: no task wake-up per
socket, the frame's bytes made once, and the order and the slow-reader cut-off kept."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from starlette.websockets import WebSocketState
from websockets.protocol import OPEN, Protocol, Side

from peerlane.core import protocol as p
from peerlane.core import session as core
from peerlane.server.ws_connection import Connection
from peerlane.server.ws_transport import SEND_NOW, _uncompressed_frame
from ws_fakes import fake_connection


class PausableSocket:
    """A socket whose transport writes at once (the scope's SEND_NOW) unless paused,
    when frames go through the awaited ``send_text``, which waits until resumed."""

    def __init__(self) -> None:
        self.client_state = WebSocketState.CONNECTED
        self.application_state = WebSocketState.CONNECTED
        self.scope = {"extensions": {SEND_NOW: self._send_now}}
        self.now: list[str] = []  # written without awaiting
        self.later: list[str] = []  # written through send_text
        self.resumed = asyncio.Event()
        self.resumed.set()

    def _send_now(self, text: str) -> int | None:
        if not self.resumed.is_set():
            return None
        self.now.append(text)
        return len(text.encode())

    async def send_text(self, text: str) -> None:
        await self.resumed.wait()
        self.later.append(text)

    @property
    def sent(self) -> list[str]:
        return self.now + self.later


def open_connection(tmp_path: Path, ws: Any) -> Connection:
    conn = fake_connection(tmp_path, ws)
    conn.session.receive('{"type":"hello","v":1}', conn.session.now)
    snapshot = core.RoomSnapshot("Room", 0, [], [], {})
    conn.session.joined(snapshot, None)
    assert conn.session.state is core.State.OPEN
    return conn


def message(seq: int) -> core.RoomEvent:
    chat = p.Message(seq=seq, id=f"m{seq}", sender="u2", sender_name="Bo", ts=1.0, body=seq)
    return core.RoomEvent("r1", chat)


def seqs(frames: list[str]) -> list[int]:
    return [p.Message.model_validate_json(f).seq for f in frames]


@pytest.mark.parametrize("text", ['{"type":"pong"}', "é" * 70, "x" * 200, "ü" * 40_000])
def test_a_frame_is_the_bytes_websockets_would_write(text: str) -> None:
    server = Protocol(Side.SERVER, state=OPEN)
    server.send_text(text.encode())
    (expected,) = server.data_to_send()
    frame, size = _uncompressed_frame(text)
    assert frame == expected
    assert size == len(text.encode())
    assert _uncompressed_frame(text)[0] is frame  # the next socket's: not made again


async def test_a_room_message_is_written_in_the_publishers_call(tmp_path: Path) -> None:
    ws = PausableSocket()
    conn = open_connection(tmp_path, ws)
    event = message(1)
    conn._room_event(event)  # no await: nothing else runs before the write
    assert ws.now == [event.text]
    assert conn._room_work.empty()


async def test_frames_a_paused_transport_defers_keep_their_order(tmp_path: Path) -> None:
    ws = PausableSocket()
    conn = open_connection(tmp_path, ws)
    conn._room_event(message(1))
    ws.resumed.clear()  # the client reads slowly: flow control pauses the transport
    conn._room_event(message(2))
    conn._room_event(message(3))
    events = asyncio.ensure_future(conn._events(NeverEnding()))
    await asyncio.sleep(0)  # the events task is flushing: its send waits
    conn._room_event(message(4))  # decided meanwhile: goes after 2 and 3
    ws.resumed.set()
    await wait_until(lambda: len(ws.sent) == 4)
    assert seqs(ws.sent) == [1, 2, 3, 4]
    assert seqs(ws.later) == [2, 3, 4]
    events.cancel()


async def test_a_client_that_does_not_read_is_cut_off_past_the_backlog_limit(
    tmp_path: Path,
) -> None:
    ws = PausableSocket()
    ws.resumed.clear()
    conn = open_connection(tmp_path, ws)
    conn._backlog_limit = 5
    for seq in range(1, 7):
        conn._room_event(message(seq))
    assert conn._closed.is_set()
    assert conn._close_code == core.CLOSE_TRY_AGAIN_LATER  # it reconnects and replays
    assert conn._writer.backlog == 0  # nothing more is written to it
    conn._room_event(message(7))
    assert conn._writer.backlog == 0


async def test_a_failing_listener_ends_its_own_connection_only(tmp_path: Path) -> None:
    ws = PausableSocket()
    conn = open_connection(tmp_path, ws)

    def broken(event: core.RoomEvent) -> list[core.Output]:
        raise ValueError("a bug")

    conn.session.room_event = broken  # type: ignore[method-assign]
    conn._room_event(message(1))  # does not raise into the publisher
    assert conn._close_code == core.CLOSE_INTERNAL


class NeverEnding:
    """A subscription that hands nothing over and never ends."""

    overflowed = False

    def listen(self, listener: Any) -> None:
        pass


async def wait_until(condition: Any) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0)

    await asyncio.wait_for(poll(), 5)

"""A PeerJS frame is written in the sender's call when nothing waits before it (no task
wake-up, no ASGI send), and frames still leave a socket in the order they were given
when the transport pushes back (the client reads slowly)."""

from __future__ import annotations

import asyncio
from typing import Any

from peerlane.server.peerjs import PeerConnection


class Transport:
    """uvicorn's protocol as PeerConnection sees it: ``send_now`` writes at once unless
    the transport pushes back (None); the ASGI ``send`` waits until it is let through."""

    def __init__(self) -> None:
        self.pushing_back = False
        self.let_through = asyncio.Event()
        self.let_through.set()
        self.waiting = asyncio.Event()  # an ASGI send is waiting to be let through
        self.wire: list[str] = []  # every text frame, in the order it was written
        self.asgi_sends = 0

    def send_now(self, text: str) -> int | None:
        if self.pushing_back:
            return None
        self.wire.append(text)
        return len(text.encode())

    async def send(self, message: dict[str, Any]) -> None:
        if not self.let_through.is_set():
            self.waiting.set()
        await self.let_through.wait()
        self.asgi_sends += 1
        if message["type"] == "websocket.send":
            self.wire.append(message["text"])


async def test_a_frame_is_written_in_the_senders_call() -> None:
    t = Transport()
    conn = PeerConnection("peerjs", "bob", t.send, 0.0, t.send_now)
    conn.deliver('{"type":"OPEN"}')
    conn.deliver('{"type":"CANDIDATE","src":"alice"}')
    # Nothing awaited yet: written already, with no writer task and no ASGI send.
    assert t.wire == ['{"type":"OPEN"}', '{"type":"CANDIDATE","src":"alice"}']
    await conn.closed()
    assert t.asgi_sends == 1  # only the close


async def test_frames_keep_their_order_when_the_transport_pushes_back() -> None:
    t = Transport()
    conn = PeerConnection("peerjs", "bob", t.send, 0.0, t.send_now)
    conn.deliver("1")
    t.pushing_back = True  # the client stopped reading: frames go to the outbox
    t.let_through.clear()
    conn.deliver("2")
    conn.deliver("3")
    await t.waiting.wait()  # the writer task took "2" and "3" and waits in send
    t.pushing_back = False  # the transport could take a frame again...
    conn.deliver("4")  # ...but "2" and "3" are still on their way: "4" goes after them
    t.let_through.set()
    await conn.closed()
    assert t.wire == ["1", "2", "3", "4"]


async def test_without_send_now_every_frame_takes_the_asgi_send() -> None:
    t = Transport()
    conn = PeerConnection("peerjs", "bob", t.send, 0.0)  # another server than uvicorn
    conn.deliver("1")
    conn.deliver("2")
    assert t.wire == []
    await conn.closed()
    assert t.wire == ["1", "2"]
    assert t.asgi_sends == 3

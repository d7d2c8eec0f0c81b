"""Frames leave in the order the session decided them, even when two tasks (the reader
and the room's events) have frames to send at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.websockets import WebSocketState

from peerlane.core import protocol as p
from peerlane.core import session as core
from ws_fakes import fake_connection


class YieldingSocket:
    """A socket whose every send yields to the event loop once, as a real write may."""

    def __init__(self) -> None:
        self.client_state = WebSocketState.CONNECTED
        self.application_state = WebSocketState.CONNECTED
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        await asyncio.sleep(0)  # one turn of the loop: another task may run meanwhile
        self.sent.append(text)


async def test_a_batch_of_frames_is_not_overtaken_by_a_later_one(tmp_path: Path) -> None:
    ws = YieldingSocket()
    conn = fake_connection(tmp_path, ws)
    # A replay decided first (three messages), then a live message decided while the
    # replay's first frame is being written.
    replay = conn.perform([core.Send(text=f"replayed {n}") for n in (1, 2, 3)])
    first = asyncio.ensure_future(replay)
    await asyncio.sleep(0)  # the replay is writing its first frame
    await conn.perform([core.Send(text="live 4")])
    await first

    assert ws.sent == ["replayed 1", "replayed 2", "replayed 3", "live 4"]


class SlowBus:
    """A bus whose publish takes a turn of the loop (a round trip to Redis)."""

    async def publish(self, event: object) -> None:
        await asyncio.sleep(0)


async def test_a_frame_decided_later_waits_for_a_step_that_publishes_between_its_frames(
    tmp_path: Path,
) -> None:
    """joined(): welcome, publish "joined", then synced and the held message 1. A live
    message 2 decided by the other task while the publish runs must not go first (the
    client saw seqs 2, 1 behind three instances)."""
    ws = YieldingSocket()
    conn = fake_connection(tmp_path, ws)
    conn.services.bus = SlowBus()  # type: ignore[assignment]  # a recording fake
    publish = core.Publish(core.RoomEvent("r1", p.Ping(nonce="n")))
    step = [core.Send(text="welcome"), publish, core.Send(text="synced"), core.Send(text="1")]
    first = asyncio.ensure_future(conn.perform(step))
    await asyncio.sleep(0)  # the step is under way: writing, then publishing
    await conn.perform([core.Send(text="2")])
    await first

    assert ws.sent == ["welcome", "synced", "1", "2"]

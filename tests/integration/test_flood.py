"""A flooding participant against a real server process: its chat budget holds across
reconnects, and reconnect storms are refused (issue #9, finding 1)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from support import TIMEOUT, Member, ServerProcess, close_code, create_room, join, link_token
from support import open_socket as open_ws

StartServer = Callable[..., ServerProcess]
FLOOD_SECONDS = 5.0


@dataclass
class Flood:
    sent: int = 0
    opened: int = 0
    refused: int = 0  # sockets refused with 1013 (too many connections)
    closed_1008: int = 0  # connections the server closed as abusive
    first: float = 0.0
    last: float = 0.0


async def flood(server: ServerProcess, member: Member, seconds: float, tag: str) -> Flood:
    """Send chat frames as fast as the socket takes them, never waiting for an answer;
    when the server closes the socket, open a new one at once. For ``seconds``."""
    stats = Flood(first=time.time())
    url = server.ws_url(member.room_id) + "?v=1"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ws = None
        try:
            async with connect(url, additional_headers=member.auth, max_queue=None) as ws:
                stats.opened += 1
                reader = asyncio.ensure_future(ws.wait_closed())
                try:
                    while time.monotonic() < deadline and not reader.done():
                        chat = {"type": "chat", "id": f"{tag}-{stats.sent}", "body": stats.sent}
                        await ws.send(json.dumps(chat))
                        stats.sent += 1
                        stats.last = time.time()
                        if stats.sent % 50 == 0:
                            await asyncio.sleep(0)  # let the socket read the server's replies
                finally:
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
        except (ConnectionClosed, InvalidHandshake, OSError):
            pass
        code = ws.close_code if ws is not None else None
        if code == 1013:
            stats.refused += 1
        elif code == 1008:
            stats.closed_1008 += 1
    return stats


def stored_count(http: httpx.Client, member: Member) -> int:
    r = http.get(f"/api/rooms/{member.room_id}/messages", params={"limit": 1}, headers=member.auth)
    assert r.status_code == 200, r.text
    latest = r.json()["messages"]
    return int(latest[-1]["seq"]) if latest else 0  # seqs are gap-free from 1


def test_a_flooder_that_reconnects_at_once_gets_no_more_than_its_budget(
    start_server: StartServer, client
):
    rate, burst = 5.0, 20.0
    server = start_server(
        participant_messages_per_second=rate,
        participant_message_burst=burst,
        rooms_per_hour=100,
        joins_per_minute=100,
    )
    http = client(server)
    owner = create_room(http)
    flooder = join(http, "flooder", token=link_token(owner))

    stats = asyncio.run(flood(server, flooder, FLOOD_SECONDS, "f"))

    stored = stored_count(http, owner)
    budget = burst + rate * (stats.last - stats.first)
    assert stats.sent > 10 * budget, stats  # it really flooded
    assert stats.opened >= 2, stats  # and was closed, and came back
    assert stored <= budget + 1, (stored, budget, stats)
    assert stored >= burst, (stored, stats)  # the budget itself was usable


def test_the_per_address_budget_holds_for_several_participants(start_server: StartServer, client):
    rate, burst = 4.0, 15.0
    server = start_server(
        ip_messages_per_second=rate,
        ip_message_burst=burst,
        rooms_per_hour=100,
        joins_per_minute=100,
    )
    http = client(server)
    owner = create_room(http)
    members = [join(http, f"f{i}", token=link_token(owner)) for i in range(3)]

    async def together() -> list[Flood]:
        return await asyncio.gather(
            *(flood(server, m, FLOOD_SECONDS / 2, f"f{i}") for i, m in enumerate(members))
        )

    floods = asyncio.run(together())

    stored = stored_count(http, owner)
    first, last = min(f.first for f in floods), max(f.last for f in floods)
    budget = burst + rate * (last - first)
    assert sum(f.sent for f in floods) > 10 * budget, floods
    assert stored <= budget + 1, (stored, budget, floods)


def test_a_reconnect_storm_is_refused_with_1013_per_participant_and_per_address(
    start_server: StartServer, client
):
    server = start_server(
        participant_connects_per_minute=3,
        ip_connects_per_minute=5,
        rooms_per_hour=100,
        joins_per_minute=100,
    )
    http = client(server)
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    url = server.ws_url(alice.room_id) + "?v=1"

    def open_and_read(member: Member) -> dict[str, object]:
        ws = open_ws(url, additional_headers=member.auth)
        first = json.loads(ws.recv(timeout=TIMEOUT))
        if first["type"] == "error":
            assert close_code(ws) == 1013
        ws.close()
        return first

    assert [open_and_read(alice)["type"] for _ in range(3)] == ["welcome"] * 3
    refused = open_and_read(alice)  # the participant's fourth socket this minute
    assert refused["type"] == "error"
    assert refused["error"]["code"] == "rate_limited"  # type: ignore[index]
    assert "connections" in refused["error"]["message"]  # type: ignore[index]
    # Bob has his own budget, but the address has one more socket left (5 per minute).
    assert open_and_read(bob)["type"] == "welcome"
    assert open_and_read(bob)["type"] == "error"  # the address's sixth

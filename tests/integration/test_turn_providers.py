"""A server with several TURN providers checks them with real allocations and hands out
only the working ones in ``welcome``; the health shows in /readyz and /metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator

import httpx
import pytest

import coturn
from peerlane.core.stun import IceUrl
from peerlane.server.turn_probe import allocate
from support import Peer, ServerProcess, create_room, free_port, wait_until

StartServer = Callable[..., ServerProcess]


@pytest.fixture(scope="module")
def turn() -> Iterator[coturn.Coturn]:
    with coturn.coturn() as server:
        yield server


def test_welcome_hands_out_only_providers_that_allocate(
    turn: coturn.Coturn, start_server: StartServer, client: Callable[[ServerProcess], httpx.Client]
) -> None:
    closed = free_port()
    providers = [
        {"name": "spare", "urls": [f"turn:127.0.0.1:{closed}?transport=udp"], "secret": "x" * 20},
        {"name": "main", "urls": turn.urls, "secret": turn.secret, "priority": -1},
    ]
    server = start_server(
        turn_providers=json.dumps(providers),
        stun_urls=f"stun:127.0.0.1:{turn.port}",
        turn_check_interval=0.5,
        turn_ttl=600,
    )
    http = client(server)

    def checked() -> dict[str, dict[str, object]] | None:
        turn_detail = http.get("/readyz").json()["turn"]
        return turn_detail if all(p["up"] is not None for p in turn_detail.values()) else None

    detail = wait_until(checked, what="both providers checked")
    assert detail["main"]["up"] is True
    assert detail["spare"]["up"] is False
    assert "cannot reach" in next(iter(detail["spare"]["failures"].values()))

    owner = create_room(http)
    peer = Peer(server, owner)
    servers = peer.welcome["ice_servers"]
    assert [s["urls"] for s in servers] == [[f"stun:127.0.0.1:{turn.port}"], turn.urls]
    username = servers[1]["username"]
    assert username.endswith(":" + owner.participant_id)
    # The credentials handed out really work on coturn.
    reason = asyncio.run(
        allocate(IceUrl.parse(turn.urls[0]), username, servers[1]["credential"], seconds=3)
    )
    assert reason is None
    peer.close()

    metrics = http.get("/metrics").text
    assert 'peerlane_turn_provider_up{provider="main"} 1.0' in metrics
    assert 'peerlane_turn_provider_up{provider="spare"} 0.0' in metrics
    assert "turn.provider_down" in server.logs()

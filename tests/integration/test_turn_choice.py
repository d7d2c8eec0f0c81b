"""The terminal's TURN URL choice (peer/turn_choice.py) against a real coturn on
loopback: aiortc uses only the first TURN URL, so the first that allocates, in the order
UDP → TCP → TLS, must come first. UDP is made unreachable by pointing its URL at a
closed port (ICMP port unreachable)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator

import pytest
from aiortc.rtcicetransport import connection_kwargs

import coturn
from peerlane.core.protocol import IceServer
from peerlane.core.turn import turn_credentials
from peerlane.peer import turn_choice
from peerlane.peer.rtc_config import rtc_configuration
from peerlane.peer.rtc_links import Links
from support import TIMEOUT, free_port

pytestmark = pytest.mark.skipif(shutil.which("turnserver") is None, reason="needs coturn")


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turn_choice, "_chosen", {})  # each test chooses anew


@pytest.fixture(scope="module")
def turn() -> Iterator[coturn.Coturn]:
    with coturn.coturn() as server:
        yield server


def ice(server: coturn.Coturn, urls: list[str], user: str = "cli") -> list[IceServer]:
    username, credential = turn_credentials(server.secret, user, now=time.time(), ttl=600)
    return [
        IceServer(urls=["stun:127.0.0.1:3478"]),
        IceServer(urls=urls, username=username, credential=credential),
    ]


def first_turn(servers: list[IceServer]) -> tuple[str, int, str]:
    """The TURN server aiortc will use: (host, port) and transport."""
    kwargs = connection_kwargs(rtc_configuration(servers).iceServers or [])
    return (*kwargs["turn_server"], kwargs["turn_transport"])


def udp_closed() -> str:
    return f"turn:127.0.0.1:{free_port()}?transport=udp"


async def test_udp_unreachable_tcp_chosen(turn: coturn.Coturn) -> None:
    tcp = f"turn:127.0.0.1:{turn.port}?transport=tcp"
    servers = ice(turn, [udp_closed(), tcp])
    assert first_turn(servers)[2] == "udp"  # aiortc's own pick: the dead UDP one

    chosen = await turn_choice.prefer_working(servers)

    assert first_turn(chosen) == ("127.0.0.1", turn.port, "tcp")
    assert chosen[0].urls == ["stun:127.0.0.1:3478"]  # the STUN entry keeps its place
    assert chosen[1].urls[0] == tcp
    # A reconnect's welcome (new credentials, same URLs) gets the kept choice, no probe.
    again = turn_choice.with_choice(ice(turn, [udp_closed(), tcp], user="later"))
    assert first_turn(again)[2] == "udp"  # another closed port: other URLs, nothing kept
    renewed = ice(turn, servers[1].urls, user="later")
    assert first_turn(turn_choice.with_choice(renewed)) == ("127.0.0.1", turn.port, "tcp")
    assert not turn_choice.needs_choice(renewed)


async def test_working_udp_wins_over_tcp_listed_first(turn: coturn.Coturn) -> None:
    tcp = f"turn:127.0.0.1:{turn.port}?transport=tcp"
    udp = f"turn:127.0.0.1:{turn.port}?transport=udp"
    chosen = await turn_choice.prefer_working(ice(turn, [tcp, udp]))
    assert first_turn(chosen) == ("127.0.0.1", turn.port, "udp")


async def test_none_works_keeps_the_servers_order(turn: coturn.Coturn) -> None:
    dead_tcp = f"turn:127.0.0.1:{free_port()}?transport=tcp"
    servers = ice(turn, [udp_closed(), dead_tcp])
    started = time.monotonic()
    chosen = await turn_choice.prefer_working(servers, seconds=1.0)
    assert chosen == servers
    assert time.monotonic() - started < 1.0 + TIMEOUT / 10


async def test_wrong_credentials_do_not_count(turn: coturn.Coturn) -> None:
    tcp = f"turn:127.0.0.1:{turn.port}?transport=tcp"
    udp = f"turn:127.0.0.1:{turn.port}?transport=udp"
    servers = ice(turn, [udp, tcp])
    wrong = [servers[0], servers[1].model_copy(update={"credential": "not-it"})]
    assert await turn_choice.prefer_working(wrong) == wrong


async def test_links_offer_a_relay_through_tcp_when_udp_is_unreachable(
    turn: coturn.Coturn,
) -> None:
    """The links wait for the choice: the first offer already has a TCP relay candidate."""
    offers: list[str] = []
    sent = asyncio.Event()

    def send_signal(peer: str, kind: str, data: object) -> None:
        if kind == "offer" and isinstance(data, dict):
            offers.append(str(data["sdp"]))
            sent.set()

    links = Links(send_signal, lambda _peer, _channel: None, lambda _peer: None)
    tcp = f"turn:127.0.0.1:{turn.port}?transport=tcp"
    links.welcome("z-terminal", ["a-browser"], ice(turn, [udp_closed(), tcp]), 8)
    try:
        async with asyncio.timeout(TIMEOUT):
            await sent.wait()
        relays = [line for line in offers[0].splitlines() if "typ relay" in line]
        assert relays, offers[0]
        assert first_turn(links.ice_servers)[2] == "tcp"
    finally:
        await links.close()


async def test_stun_at_the_silent_udp_address_is_left_out(turn: coturn.Coturn) -> None:
    """aioice would wait its whole 5 s gathering bound for a STUN answer that the TURN UDP
    probe to the same address and port just did not get."""
    dead_port = free_port()
    tcp = f"turn:127.0.0.1:{turn.port}?transport=tcp"
    servers = ice(turn, [f"turn:127.0.0.1:{dead_port}?transport=udp", tcp])
    servers[0] = IceServer(urls=[f"stun:127.0.0.1:{dead_port}", "stun:127.0.0.1:3478"])
    chosen = await turn_choice.prefer_working(servers)
    assert chosen[0].urls == ["stun:127.0.0.1:3478"]
    assert first_turn(chosen)[2] == "tcp"
    servers[0] = IceServer(urls=[f"stun:127.0.0.1:{dead_port}"])
    assert [s.urls[0] for s in turn_choice.with_choice(servers)] == [tcp]  # no empty entry

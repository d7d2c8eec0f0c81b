"""peer/rtc_config.py: aiortc gets exactly the server's ICE servers (never its default
public STUN server) and gathers host candidates only on the chosen addresses. Two real
aiortc peers in this process, on loopback, connect and carry data."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import pytest
from aiortc import RTCPeerConnection

from peerlane.core.protocol import IceServer
from peerlane.peer import EXIT_USAGE, PeerError
from peerlane.peer.rtc_config import host_addresses, only_host_addresses, rtc_configuration

PAYLOAD = 4 * 1024 * 1024
CHUNK = 16 * 1024


def gatherer_servers(pc: RTCPeerConnection) -> tuple[object, object]:
    # aiortc keeps the ICE agent (aioice.Connection) behind its SCTP/DTLS/ICE transports.
    connection = pc.sctp.transport.transport.iceGatherer._connection  # type: ignore[union-attr]
    return connection.stun_server, connection.turn_server


def candidates(sdp: str) -> list[list[str]]:
    return [line.split() for line in sdp.splitlines() if line.startswith("a=candidate:")]


def test_ice_servers_are_the_servers_and_never_a_default() -> None:
    assert rtc_configuration([]).iceServers == []  # not None: None means aiortc's default
    turn = IceServer(urls=["turn:t.example:3478"], username="1:bob", credential="pw")
    [server] = rtc_configuration([turn]).iceServers or []
    assert (server.urls, server.username, server.credential) == (
        ["turn:t.example:3478"],
        "1:bob",
        "pw",
    )


def test_host_addresses_by_interface_or_address() -> None:
    assert "127.0.0.1" in host_addresses(["lo"])
    assert host_addresses(["127.0.0.1", "lo"]) == host_addresses(["lo"])
    with pytest.raises(PeerError) as refused:
        host_addresses(["no-such-interface0"])
    assert refused.value.exit_code == EXIT_USAGE
    assert "the interfaces are:" in str(refused.value)
    with pytest.raises(PeerError):
        host_addresses(["192.0.2.77"])  # TEST-NET: not this machine's


async def _loopback_pair() -> tuple[float, str, str, list[list[str]]]:
    config = rtc_configuration([])
    a, b = RTCPeerConnection(config), RTCPeerConnection(config)
    got = bytearray()
    done = asyncio.Event()
    channel = a.createDataChannel("blast")

    @b.on("datachannel")
    def on_channel(incoming) -> None:  # type: ignore[no-untyped-def]
        @incoming.on("message")
        def on_message(data: bytes) -> None:
            got.extend(data)
            if len(got) >= PAYLOAD:
                done.set()

    try:
        await a.setLocalDescription(await a.createOffer())
        assert gatherer_servers(a) == (None, None)
        offer_candidates = candidates(a.localDescription.sdp)
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
        opened = asyncio.Event()
        channel.on("open", opened.set)
        await asyncio.wait_for(opened.wait(), 20)
        data = os.urandom(PAYLOAD)
        low = asyncio.Event()
        channel.bufferedAmountLowThreshold = 256 * 1024
        channel.on("bufferedamountlow", low.set)
        started = time.monotonic()
        for at in range(0, PAYLOAD, CHUNK):
            channel.send(data[at : at + CHUNK])
            if channel.bufferedAmount > 1024 * 1024:  # keep memory bounded
                low.clear()
                await asyncio.wait_for(low.wait(), 20)
        await asyncio.wait_for(done.wait(), 60)
        seconds = time.monotonic() - started
        return (
            seconds,
            hashlib.sha256(data).hexdigest(),
            hashlib.sha256(got).hexdigest(),
            offer_candidates,
        )
    finally:
        await a.close()
        await b.close()


def test_two_peers_on_the_chosen_address_only() -> None:
    with only_host_addresses(["127.0.0.1"]):
        seconds, sent, received, offered = asyncio.run(_loopback_pair())
    assert sent == received
    assert offered, "no candidates gathered"
    for fields in offered:  # a=candidate:<f> <comp> <proto> <prio> <address> <port> typ <type>
        assert (fields[4], fields[7]) == ("127.0.0.1", "host"), fields
    print(f"aiortc data channel, loopback, one process: {PAYLOAD / seconds / 1e6:.1f} MB/s")

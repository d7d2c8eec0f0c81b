"""``peerlane doctor``'s checks, with I/O: the server, its WebSocket, then each STUN and
TURN server it hands out (with the credentials it issues), over each transport.

The room it needs for a WebSocket (the ICE servers and TURN credentials come in the
``welcome``) is made for the check and deleted after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

from peerlane.core import stun_probe as sp
from peerlane.core.net_verdict import Check, advice, nat_estimate
from peerlane.core.protocol import IceServer, Welcome
from peerlane.peer import PeerError, http_api

PROBE_TIMEOUT = 3.0
UDP_RESEND_S = 0.5


@dataclass
class Report:
    server: str
    checks: list[Check] = field(default_factory=list)
    reflexive: str | None = None
    local: set[str] = field(default_factory=set)
    ice_servers: int = 0

    @property
    def nat(self) -> str:
        return nat_estimate(self.local, self.reflexive)

    @property
    def advice(self) -> list[str]:
        return advice(self.checks, self.ice_servers)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, object]:
        return {
            "server": self.server,
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "reflexive_address": self.reflexive,
            "nat": self.nat,
            "advice": self.advice,
        }


async def run(server: str) -> Report:
    report = Report(server)
    ok, detail = await http_api.reachable(server)
    report.checks.append(Check("server", ok, detail))
    if not ok:
        return report
    welcome = await _websocket(report)
    if welcome is None:
        return report
    report.ice_servers = len(welcome.ice_servers)
    for ice in welcome.ice_servers:
        for url in ice.urls:
            parsed = sp.parse_ice_url(url)
            if parsed is not None:
                report.checks.append(await _probe(report, parsed, ice))
    return report


async def _websocket(report: Report) -> Welcome | None:
    try:
        member = await http_api.create_room(report.server, "peerlane doctor")
    except PeerError as exc:
        report.checks.append(Check("websocket", False, f"no room to test it in: {exc}"))
        return None
    try:
        async with connect(member.ws_url, additional_headers=member.auth, open_timeout=10) as ws:
            await ws.send('{"type": "hello", "v": 1}')
            async with asyncio.timeout(10):
                welcome = Welcome.model_validate_json(await ws.recv())
        report.checks.append(Check("websocket", True, f"{member.ws_url.split('/api')[0]} works"))
        return welcome
    except Exception as exc:  # any failure of the socket is the finding, in words
        detail = f"the WebSocket does not work ({type(exc).__name__}: {exc})"
        report.checks.append(Check("websocket", False, detail))
        return None
    finally:
        with contextlib.suppress(PeerError, OSError):
            await http_api.delete_room(member)


async def _probe(report: Report, url: sp.IceUrl, ice: IceServer) -> Check:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            if url.scheme == "stun":
                return await _stun(report, url)
            return await _turn(url, ice)
    except TimeoutError:
        return Check(url.label, False, f"no answer within {PROBE_TIMEOUT:.0f} s")
    except (OSError, sp.StunError) as exc:
        return Check(url.label, False, f"failed: {exc}")


async def _stun(report: Report, url: sp.IceUrl) -> Check:
    exchange = await _Exchange.open(url)
    try:
        txid = os.urandom(12)
        answer = await exchange.ask(sp.binding_request(txid), txid)
        mapped = answer.address()
        if answer.kind != sp.BINDING_SUCCESS or mapped is None:
            return Check(url.label, False, "answered without an address")
        report.reflexive = report.reflexive or mapped[0]
        report.local.add(exchange.local_address)
        return Check(url.label, True, f"reflexive address {mapped[0]}:{mapped[1]}")
    finally:
        exchange.close()


async def _turn(url: sp.IceUrl, ice: IceServer) -> Check:
    if not ice.username or not ice.credential:
        return Check(url.label, False, "the server gave no TURN credentials")
    exchange = await _Exchange.open(url)
    try:
        txid = os.urandom(12)
        first = await exchange.ask(sp.allocate_request(txid), txid)
        creds = first.challenge(ice.username, ice.credential)
        if creds is None:
            return Check(url.label, False, f"unexpected answer to Allocate ({first.error})")
        txid = os.urandom(12)
        answer = await exchange.ask(sp.allocate_request(txid, creds), txid)
        relayed = answer.address(sp.XOR_RELAYED_ADDRESS)
        if answer.kind != sp.ALLOCATE_SUCCESS or relayed is None:
            code, reason = answer.error or (0, "no relayed address")
            return Check(url.label, False, f"allocation refused: {code} {reason}".strip())
        txid = os.urandom(12)
        with contextlib.suppress(sp.StunError):
            await exchange.ask(sp.refresh_request(txid, creds), txid)  # free it
        return Check(url.label, True, f"relay allocated at {relayed[0]}:{relayed[1]}")
    finally:
        exchange.close()


class _Exchange:
    """One request, one answer, over UDP (resent until answered) or a stream."""

    def __init__(self) -> None:
        self.local_address = ""
        self._udp: asyncio.DatagramTransport | None = None
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @classmethod
    async def open(cls, url: sp.IceUrl) -> _Exchange:
        self = cls()
        loop = asyncio.get_running_loop()
        if url.transport == "udp":
            inbox = self._inbox

            class Protocol(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: object) -> None:
                    inbox.put_nowait(data)

            self._udp, _ = await loop.create_datagram_endpoint(
                Protocol, remote_addr=(url.host, url.port)
            )
            self.local_address = str(self._udp.get_extra_info("sockname")[0])
        else:
            tls = ssl.create_default_context() if url.transport == "tls" else None
            self._reader, self._writer = await asyncio.open_connection(
                url.host, url.port, ssl=tls, server_hostname=url.host if tls else None
            )
            self.local_address = str(self._writer.get_extra_info("sockname")[0])
        return self

    async def ask(self, request: bytes, txid: bytes) -> sp.Answer:
        if self._udp is not None:
            while True:
                self._udp.sendto(request)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(UDP_RESEND_S):
                        while True:  # a stray datagram (an older transaction) is skipped
                            with contextlib.suppress(sp.StunError):
                                return sp.parse(await self._inbox.get(), txid)
        assert self._reader is not None
        assert self._writer is not None
        self._writer.write(request)
        header = await self._reader.readexactly(sp.HEADER.size)
        rest = await self._reader.readexactly(sp.message_length(header) - sp.HEADER.size)
        return sp.parse(header + rest, txid)

    def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._writer is not None:
            self._writer.close()

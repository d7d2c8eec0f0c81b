"""``peerlane doctor``'s checks, with I/O: the server, its WebSocket, then each STUN and
TURN server it hands out (with the credentials it issues), over each transport.

The room it needs for a WebSocket (the ICE servers and TURN credentials come in the
``welcome``) is made for the check and deleted after it. Every STUN server is asked from
one UDP socket, so that two answers tell whether the NAT's mapping depends on the
destination. The verdict, NAT estimate and advice come from core/net_verdict.py, the same
words the /diagnostics page shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

from peerlane.core.net_verdict import Check, Findings, findings
from peerlane.core.protocol import IceServer, Welcome
from peerlane.core.stun import Allocated, IceUrl
from peerlane.peer import PeerError, http_api
from peerlane.server import turn_probe

PROBE_TIMEOUT = 3.0


@dataclass
class Report:
    server: str
    checks: list[Check] = field(default_factory=list)
    reflexive: str | None = None
    local: set[str] = field(default_factory=set)
    ice_servers: int = 0
    mapped: dict[str, str | None] = field(default_factory=dict)  # STUN label → ip:port

    @property
    def findings(self) -> Findings:
        return findings(self.checks, self.ice_servers, self.local, self.reflexive, self.mapped)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, object]:
        return {
            "server": self.server,
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "reflexive_address": self.reflexive,
            **dataclasses.asdict(self.findings),
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
    stun: list[IceUrl] = []
    turn: list[tuple[IceUrl, IceServer]] = []
    for ice in welcome.ice_servers:
        for url in ice.urls:
            with contextlib.suppress(ValueError):  # not a URL the doctor can check
                parsed = IceUrl.parse(url)
                if parsed.scheme == "stun":
                    stun.append(parsed)
                else:
                    turn.append((parsed, ice))
    await _stun(report, stun)
    for turn_url, ice in turn:
        report.checks.append(await _turn(turn_url, ice))
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


async def _stun(report: Report, urls: list[IceUrl]) -> None:
    answers = await turn_probe.bindings(urls, seconds=PROBE_TIMEOUT)
    for url, answer in answers.items():
        if answer.mapped is None:
            report.mapped[url.label] = None
            report.checks.append(Check(url.label, False, f"failed: {answer.problem}"))
            continue
        host, port = answer.mapped
        report.mapped[url.label] = f"{host}:{port}"
        report.reflexive = report.reflexive or host
        report.local.add(answer.local)
        report.checks.append(Check(url.label, True, f"reflexive address {host}:{port}"))


async def _turn(url: IceUrl, ice: IceServer) -> Check:
    if not ice.username or not ice.credential:
        return Check(url.label, False, "the server gave no TURN credentials")
    outcome = await turn_probe.allocation(url, ice.username, ice.credential, seconds=PROBE_TIMEOUT)
    if isinstance(outcome, Allocated):
        host, port = outcome.relayed
        return Check(url.label, True, f"relay allocated at {host}:{port}")
    return Check(url.label, False, f"failed: {outcome.reason}")

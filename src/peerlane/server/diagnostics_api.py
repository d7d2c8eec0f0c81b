"""The /diagnostics page's API: what to check, and what the checks mean.

- ``GET /api/diagnostics``: the STUN and TURN servers a participant would get (TURN with
  fresh credentials), each with the name reports give it, and whether telemetry is on.
  Anyone may ask, as anyone may create a room and get the same in its ``welcome``; it is
  limited per address like room creation (``--rooms-per-hour``), in a bucket of its own.
- ``POST /api/diagnostics/verdict``: the page's check results in, the verdict, NAT
  estimates, advice and the plain-text report out — made by core/net_verdict.py, the same
  words ``peerlane doctor`` prints. Nothing of it is stored or logged.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from peerlane.core.net_verdict import Check, findings, report_lines
from peerlane.core.stun import IceUrl
from peerlane.errors import ErrorCode, LimitError
from peerlane.server.api_deps import Svc, client_ip

router = APIRouter(prefix="/api/diagnostics")

DIAGNOSTICS_USER = "diagnostics"  # the TURN username's user part (no participant here)


class Probe(BaseModel):
    """One STUN or TURN URL to check, as the page gives it to an RTCPeerConnection."""

    label: str  # "TURN TCP host:3478": how reports name it
    kind: str  # "stun" | "turn"
    url: str
    username: str | None = None
    credential: str | None = None


class DiagnosticsOut(BaseModel):
    probes: list[Probe]
    ice_servers: int  # how many ICE servers a participant would get
    telemetry: bool


@router.get("")
async def probes(request: Request, svc: Svc) -> DiagnosticsOut:
    key = f"diagnostics:{client_ip(request, svc)}"
    if (wait := await svc.limiters.rooms.take(key, svc.clock())) is not None:
        raise LimitError(ErrorCode.RATE_LIMITED, retry_after=wait)
    servers = svc.ice_servers(DIAGNOSTICS_USER)
    out = []
    for server in servers:
        for url in server.urls:
            try:
                parsed = IceUrl.parse(url)
            except ValueError:
                continue  # a URL the page could not name either; the browser may still use it
            probe = Probe(label=parsed.label, kind="stun", url=url)
            if parsed.scheme != "stun":
                probe.kind, probe.username, probe.credential = (
                    "turn",
                    server.username,
                    server.credential,
                )
            out.append(probe)
    return DiagnosticsOut(probes=out, ice_servers=len(servers), telemetry=svc.settings.telemetry)


Text = Annotated[str, StringConstraints(max_length=300)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label
    ok: bool
    detail: Text = ""


class VerdictIn(BaseModel):
    """The page's checks: as many as the probes it was given and a few of its own."""

    model_config = ConfigDict(extra="forbid")

    checks: list[CheckIn] = Field(max_length=40)
    ice_servers: int = Field(ge=0, le=100)
    local: list[Label] = Field(default_factory=list, max_length=20)
    reflexive: Label | None = None
    mapped: dict[Label, Label | None] = Field(default_factory=dict, max_length=20)


class VerdictOut(BaseModel):
    verdict: str
    verdict_text: str
    nat: str
    nat_mapping: str
    nat_mapping_text: str
    advice: list[str]
    report: list[str]  # the plain-text report, line by line (as `peerlane doctor` prints it)


@router.post("/verdict")
async def verdict(body: VerdictIn) -> VerdictOut:
    checks = [Check(c.name, c.ok, c.detail) for c in body.checks]
    found = findings(checks, body.ice_servers, body.local, body.reflexive, body.mapped)
    return VerdictOut(**dataclasses.asdict(found), report=report_lines(checks, found))

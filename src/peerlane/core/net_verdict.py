"""What ``peerlane doctor`` and the /diagnostics page conclude from their checks
(sans-I/O): the verdict, the NAT estimate and the advice, in the words people read.

The one source of these words: the doctor prints them, the page asks the server for them
(``POST /api/diagnostics/verdict``, server/diagnostics_api.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # "server", "websocket", "STUN UDP host:port", "TURN TCP host:port", …
    ok: bool
    detail: str


def nat_estimate(local: Iterable[str], reflexive: str | None) -> str:
    """From this machine's addresses and the one a STUN server saw."""
    if reflexive is None:
        return "unknown: no STUN server answered"
    if reflexive in set(local):
        return f"no NAT: the STUN server sees this machine's own address {reflexive}"
    return f"behind NAT: the STUN server sees {reflexive}"


def nat_mapping(mapped: Mapping[str, str | None]) -> tuple[str, str]:
    """Does the NAT keep one public address for every destination? From the addresses
    several STUN servers (``label → "ip:port"`` or None: no answer) saw for ONE local
    socket. ``("independent" | "dependent" | "unknown", words)``."""
    seen = {address for address in mapped.values() if address is not None}
    answered = sum(address is not None for address in mapped.values())
    if answered < 2:
        return "unknown", (
            f"unknown: telling needs answers from two STUN servers, {answered} answered"
            + (" (the server offers only one)" if len(mapped) < 2 else "")
        )
    if len(seen) == 1:
        return "independent", (
            "the same public address for every destination (endpoint-independent "
            "mapping): direct connections through NATs should work"
        )
    return "dependent", (
        "a new public address for each destination (the mapping depends on the "
        "destination, a symmetric NAT): direct connections to other networks need TURN"
    )


VERDICTS = {
    "direct": "Direct peer-to-peer connections should work from here.",
    "lan": "Direct connections work on this network only: the server offers no STUN or TURN.",
    "turn": "Direct connections to other networks will likely fail from here, but the TURN "
    "relay works: connections go through it.",
    "server": "No peer-to-peer path works from here: chat and files go through the peerlane "
    "server (slower, but nothing is lost).",
    "unsupported": "This browser cannot make WebRTC connections: chat and files go through "
    "the peerlane server.",
    "unreachable": "The peerlane server cannot be reached from here.",
}


def verdict(checks: list[Check], ice_servers: int, mapping: str = "unknown") -> tuple[str, str]:
    """The best path the checks show: ``(key of VERDICTS, its words)``."""
    failed = _failed_kinds(checks)
    if "server" in failed:
        key = "unreachable"
    elif "webrtc" in failed:
        key = "unsupported"
    elif ice_servers == 0:
        key = "lan"
    elif any(c.ok for c in checks if c.name.startswith("STUN")) and mapping != "dependent":
        key = "direct"
    elif any(c.ok for c in checks if c.name.startswith("TURN")):
        key = "turn"
    else:
        key = "server"
    return key, VERDICTS[key]


def advice(checks: list[Check], ice_servers: int, mapping: str = "unknown") -> list[str]:
    """What to do about what failed, and about a NAT whose mapping depends on the
    destination (every check can pass behind one, yet direct links to other networks
    fail); one sentence when everything works."""
    by_kind = _by_kind(checks)
    failed = {k for k, oks in by_kind.items() if not any(oks)}
    if "server" in failed:
        return ["The server cannot be reached: check the address (--server) and your network."]
    tips = []
    if "webrtc" in failed:
        tips.append(
            "This browser has no WebRTC: use a current Firefox, Chrome, Edge or Safari for "
            "direct connections."
        )
    if "secure-context" in failed:
        tips.append(
            "The page is not a secure context (plain http on another machine): browsers "
            "restrict it; the operator should serve peerlane over HTTPS (docs/deployment.md)."
        )
    if "websocket" in failed:
        tips.append(
            "The server answers but its WebSocket does not: a proxy in between does not pass "
            "WebSockets; ask the server's operator (docs/deployment.md)."
        )
    if ice_servers == 0:
        tips.append(
            "The server offers no STUN or TURN server: direct connections work only on the "
            "same network; ask the operator to set turn_urls and turn_secret."
        )
    if "STUN UDP" in failed:
        tips.append(
            "STUN does not answer over UDP: UDP is likely blocked here, so direct connections "
            "to other networks will fail; TURN over TCP or TLS is the way out."
        )
    turn = {k: k in failed for k in by_kind if k.startswith("TURN")}
    if turn and all(turn.values()):
        tips.append(
            "No TURN relay works from here: across networks, chat goes through the server's "
            "WebSocket and files through the server (slower); check the TURN server and "
            "its ports with the operator."
        )
    elif turn.get("TURN UDP") and not all(turn.values()):
        tips.append("TURN over UDP fails but another transport works: relayed links are slower.")
    if mapping == "dependent":
        tips.append(
            "This network's NAT gives each destination a new public address (a symmetric "
            "NAT): direct connections to other networks will likely fail, and links go "
            "through a TURN relay instead."
        )
    return tips or ["Every check passed: direct and relayed connections should work from here."]


def _by_kind(checks: list[Check]) -> dict[str, list[bool]]:
    """Each kind of check ("server", "STUN UDP", "TURN TCP", …) and how its checks went."""
    by_kind: dict[str, list[bool]] = {}
    for check in checks:
        by_kind.setdefault(check.name.split(" ")[0] + _transport(check.name), []).append(check.ok)
    return by_kind


def _failed_kinds(checks: list[Check]) -> set[str]:
    return {kind for kind, oks in _by_kind(checks).items() if not any(oks)}


def _transport(name: str) -> str:
    parts = name.split(" ")
    return f" {parts[1]}" if parts[0] in ("STUN", "TURN") and len(parts) > 1 else ""


@dataclass(frozen=True, slots=True)
class Findings:
    """Everything concluded from a set of checks."""

    verdict: str  # a key of VERDICTS
    verdict_text: str
    nat: str
    nat_mapping: str  # "independent" | "dependent" | "unknown"
    nat_mapping_text: str
    advice: list[str]


def findings(
    checks: list[Check],
    ice_servers: int,
    local: Iterable[str],
    reflexive: str | None,
    mapped: Mapping[str, str | None],
) -> Findings:
    """The verdict, NAT estimates and advice, as the doctor and the page show them."""
    mapping, mapping_words = nat_mapping(mapped)
    key, words = verdict(checks, ice_servers, mapping)
    return Findings(
        key,
        words,
        nat_estimate(local, reflexive),
        mapping,
        mapping_words,
        advice(checks, ice_servers, mapping),
    )


def report_lines(checks: list[Check], found: Findings) -> list[str]:
    """The plain-text report: ``peerlane doctor`` prints it, the page's "Copy report"
    copies it."""
    lines = [f"{'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in checks]
    if "server" not in _failed_kinds(checks):
        lines += [f"NAT   {found.nat}", f"NAT   mapping: {found.nat_mapping_text}"]
    lines.append(f"==>   {found.verdict_text}")
    return lines + [f"-> {tip}" for tip in found.advice]

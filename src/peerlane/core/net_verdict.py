"""What ``peerlane doctor`` concludes from its checks (sans-I/O): the NAT estimate and
the advice, in the words people read."""

from __future__ import annotations

from collections.abc import Iterable
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


def advice(checks: list[Check], ice_servers: int) -> list[str]:
    """What to do about what failed; one sentence when everything works."""
    by_kind: dict[str, list[bool]] = {}
    for check in checks:
        by_kind.setdefault(check.name.split(" ")[0] + _transport(check.name), []).append(check.ok)
    failed = {k for k, oks in by_kind.items() if not any(oks)}
    if "server" in failed:
        return ["The server cannot be reached: check the address (--server) and your network."]
    tips = []
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
    return tips or ["Every check passed: direct and relayed connections should work from here."]


def _transport(name: str) -> str:
    parts = name.split(" ")
    return f" {parts[1]}" if parts[0] in ("STUN", "TURN") and len(parts) > 1 else ""

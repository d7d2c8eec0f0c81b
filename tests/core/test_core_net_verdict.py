"""core.net_verdict: what ``peerlane doctor`` and the /diagnostics page conclude from their
checks — the verdict, the NAT estimates and the advice."""

from __future__ import annotations

import pytest

from peerlane.core.net_verdict import (
    VERDICTS,
    Check,
    advice,
    findings,
    nat_estimate,
    nat_mapping,
    report_lines,
    verdict,
)


def checks(**oks: bool) -> list[Check]:
    return [Check(name.replace("_", " "), ok, "") for name, ok in oks.items()]


def test_nat_estimate() -> None:
    assert nat_estimate({"10.0.0.2"}, None).startswith("unknown")
    assert nat_estimate({"198.51.100.4"}, "198.51.100.4").startswith("no NAT")
    assert (
        nat_estimate({"10.0.0.2"}, "198.51.100.4")
        == "behind NAT: the STUN server sees 198.51.100.4"
    )


def test_nat_mapping_needs_two_answers() -> None:
    key, words = nat_mapping({"STUN UDP a:1": "203.0.113.1:4000"})
    assert key == "unknown"
    assert words == (
        "unknown: telling needs answers from two STUN servers, 1 answered "
        "(the server offers only one)"
    )
    key, words = nat_mapping({"STUN UDP a:1": "203.0.113.1:4000", "STUN UDP b:1": None})
    assert key == "unknown"
    assert words == "unknown: telling needs answers from two STUN servers, 1 answered"
    assert nat_mapping({})[0] == "unknown"


def test_nat_mapping_same_or_different_address_per_destination() -> None:
    same = {"STUN UDP a:1": "203.0.113.1:4000", "STUN UDP b:2": "203.0.113.1:4000"}
    assert nat_mapping(same)[0] == "independent"
    assert "endpoint-independent" in nat_mapping(same)[1]
    moved = {"STUN UDP a:1": "203.0.113.1:4000", "STUN UDP b:2": "203.0.113.1:4001"}
    assert nat_mapping(moved)[0] == "dependent"
    assert "need TURN" in nat_mapping(moved)[1]


@pytest.mark.parametrize(
    ("oks", "servers", "mapping", "want"),
    [
        ({"server": False}, 0, "unknown", "unreachable"),
        ({"server": True, "webrtc": False}, 2, "unknown", "unsupported"),
        ({"server": True, "websocket": True}, 0, "unknown", "lan"),
        ({"server": True, "STUN_UDP_s": True, "TURN_UDP_t": True}, 2, "unknown", "direct"),
        ({"server": True, "STUN_UDP_s": True, "TURN_UDP_t": True}, 2, "independent", "direct"),
        ({"server": True, "STUN_UDP_s": True, "TURN_UDP_t": True}, 2, "dependent", "turn"),
        ({"server": True, "STUN_UDP_s": False, "TURN_TCP_t": True}, 2, "unknown", "turn"),
        ({"server": True, "STUN_UDP_s": False, "TURN_TCP_t": False}, 2, "unknown", "server"),
        ({"server": True, "STUN_UDP_s": True}, 1, "dependent", "server"),
    ],
)
def test_verdict(oks: dict[str, bool], servers: int, mapping: str, want: str) -> None:
    assert verdict(checks(**oks), servers, mapping) == (want, VERDICTS[want])


def test_advice() -> None:
    everything = checks(
        server=True, websocket=True, STUN_UDP_s=True, TURN_UDP_t=True, TURN_TCP_t=True
    )
    assert advice(everything, 2) == [
        "Every check passed: direct and relayed connections should work from here."
    ]
    [tip] = advice(checks(server=False), 0)
    assert tip.startswith("The server cannot be reached")
    tips = advice(checks(server=True, websocket=False), 0)
    assert [t.split(":")[0] for t in tips] == [
        "The server answers but its WebSocket does not",
        "The server offers no STUN or TURN server",
    ]
    udp_blocked = advice(
        checks(server=True, websocket=True, STUN_UDP_s=False, TURN_UDP_t=False, TURN_TCP_t=True), 2
    )
    assert udp_blocked[0].startswith("STUN does not answer over UDP")
    assert udp_blocked[1].startswith("TURN over UDP fails but another transport works")
    no_relay = advice(checks(server=True, websocket=True, TURN_UDP_t=False, TURN_TCP_t=False), 1)
    assert no_relay[0].startswith("No TURN relay works from here")
    symmetric = advice(checks(server=True, TURN_UDP_t=False, TURN_TCP_t=False), 1, "dependent")
    assert [t.split(":")[0] for t in symmetric] == [
        "No TURN relay works from here",
        "This network's NAT gives each destination a new public address (a symmetric NAT)",
    ]
    assert advice(everything, 2, "independent") == advice(everything, 2)


def test_advice_for_the_browser_checks() -> None:
    page = [
        Check("server", True, ""),
        Check("webrtc", False, ""),
        Check("secure-context", False, ""),
    ]
    assert [t.split(":")[0] for t in advice(page, 1)] == [
        "This browser has no WebRTC",
        "The page is not a secure context (plain http on another machine)",
    ]


def test_findings_put_it_together() -> None:
    found = findings(
        checks(server=True, STUN_UDP_a=True, STUN_UDP_b=True, TURN_UDP_t=True),
        2,
        {"10.0.0.2"},
        "203.0.113.1",
        {"STUN UDP a": "203.0.113.1:4000", "STUN UDP b": "203.0.113.1:4002"},
    )
    assert (found.verdict, found.nat_mapping) == ("turn", "dependent")
    assert found.verdict_text == VERDICTS["turn"]
    assert found.nat == "behind NAT: the STUN server sees 203.0.113.1"
    # Every check passed, but not "direct connections should work": the NAT says otherwise.
    assert [t.split(":")[0] for t in found.advice] == [
        "This network's NAT gives each destination a new public address (a symmetric NAT)"
    ]


def test_report_lines_are_the_doctors_output() -> None:
    checks_ = [Check("server", True, "reached"), Check("STUN UDP s:1", False, "no answer")]
    found = findings(checks_, 1, set(), None, {"STUN UDP s:1": None})
    assert report_lines(checks_, found) == [
        "PASS  server: reached",
        "FAIL  STUN UDP s:1: no answer",
        "NAT   unknown: no STUN server answered",
        f"NAT   mapping: {found.nat_mapping_text}",
        f"==>   {VERDICTS['server']}",
        *[f"-> {tip}" for tip in found.advice],
    ]
    # The server unreachable: no NAT lines (nothing was asked).
    down = [Check("server", False, "refused")]
    lines = report_lines(down, findings(down, 0, set(), None, {}))
    assert lines[:2] == ["FAIL  server: refused", f"==>   {VERDICTS['unreachable']}"]

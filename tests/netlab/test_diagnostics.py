"""The /diagnostics page behind the lab's networks (issue #11: "the diagnostics page gives
the right verdict in scenarios 1, 5 and 6"): one Chromium in a peer namespace opens the
page of the peerlane server in the public namespace, whose welcome offers coturn's STUN
and TURN over UDP, TCP and TLS.

- 1, same LAN behind a NAT that keeps ports: STUN answers → "direct".
- 5, UDP blocked: no STUN, no TURN UDP; TURN over TCP allocates → "turn".
- 6, TURN blocked too: nothing answers → "server" (chat and files through the server).

And the NAT mapping estimate with two STUN servers (a second coturn on a second address):
"independent" behind the port-keeping NAT of scenario 2, "dependent" behind scenario 4's
port-randomizing one (whose verdict is then "turn": STUN answers, yet cannot connect).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from netlab.conftest import (
    LabBrowsers,
    NetnsServer,
    Turn,
    start_coturn,
    start_lab_server,
    stun_servers,
)
from netlab.lab import PUBLIC_ADDRESS, SECOND_PUBLIC_ADDRESS, TURN_PORT, TURN_TLS_PORT, Lab
from netlab.test_scenarios import SCENARIOS, peer_namespaces
from peerlane.core.net_verdict import VERDICTS

pytestmark = pytest.mark.netlab

STUN = f"STUN UDP {PUBLIC_ADDRESS}:{TURN_PORT}"
TURN_UDP = f"TURN UDP {PUBLIC_ADDRESS}:{TURN_PORT}"
TURN_TCP = f"TURN TCP {PUBLIC_ADDRESS}:{TURN_PORT}"
TURN_TLS = f"TURN TLS {PUBLIC_ADDRESS}:{TURN_TLS_PORT}"
# The scenario, the verdict the page must give, and which of its network checks pass.
CASES = [
    ("1-same-lan", "direct", {STUN: True, TURN_UDP: True, TURN_TCP: True, TURN_TLS: True}),
    ("5-udp-blocked", "turn", {STUN: False, TURN_UDP: False, TURN_TCP: True, TURN_TLS: True}),
    ("6-turn-blocked", "server", {STUN: False, TURN_UDP: False, TURN_TCP: False, TURN_TLS: False}),
]
RUN_TIMEOUT_MS = 60_000  # probes that get no answer each wait out their timeout (in parallel)


def scenario(name: str) -> Any:
    return next(s for s in SCENARIOS if s.name == name)


def network_checks(page: Page) -> dict[str, bool]:
    rows = page.locator("[data-testid=diag-check]").all()
    found = {r.get_attribute("data-name") or "": r.get_attribute("data-ok") == "true" for r in rows}
    return {name: ok for name, ok in found.items() if name.startswith(("STUN", "TURN"))}


@pytest.mark.parametrize(("name", "verdict", "passing"), CASES, ids=[c[0] for c in CASES])
def test_diagnostics_verdict(
    name: str,
    verdict: str,
    passing: dict[str, bool],
    lab: Lab,
    lab_server: NetnsServer,
    lab_browsers: LabBrowsers,
) -> None:
    ns = peer_namespaces(lab, scenario(name))[0]
    page = lab_browsers.new(ns, lab_server.base)
    page.goto(f"{lab_server.base}/diagnostics")
    shown = page.locator("[data-testid=diag-verdict]")
    expect(shown).to_be_visible(timeout=RUN_TIMEOUT_MS)
    report = page.locator("[data-testid=diag-report]").text_content()
    assert network_checks(page) == passing, report
    expect(shown).to_have_attribute("data-verdict", verdict)
    expect(shown).to_have_text(VERDICTS[verdict])
    print(f"netlab diagnostics {name}:\n{report}")


# Two STUN servers on two addresses: the page compares what each saw of one socket.
# The scenario, the mapping and verdict the page must find, and words of its advice (every
# check passes in both: behind the symmetric NAT it must still not promise direct links).
MAPPING_CASES = [
    ("2-eim-nat", "independent", "direct", "Every check passed"),  # masquerade keeps ports
    ("4-random-port-nat", "dependent", "turn", "a symmetric NAT"),  # a new port per destination
]


@pytest.mark.parametrize(
    ("name", "mapping", "verdict", "advice"), MAPPING_CASES, ids=[c[0] for c in MAPPING_CASES]
)
def test_nat_mapping_from_two_stun_servers(
    name: str,
    mapping: str,
    verdict: str,
    advice: str,
    lab: Lab,
    coturn: Turn,
    lab_browsers: LabBrowsers,
    tmp_path: Path,
) -> None:
    """Issue #11: "the NAT behaviour estimated from two STUN answers (mapping changes with
    destination or not)", behind a real NAT: a second coturn on the public namespace's
    second address answers STUN too, and the page must tell a NAT that keeps one mapping
    from one that makes a new one per destination (where STUN alone cannot connect)."""
    lab.add_public_address(SECOND_PUBLIC_ADDRESS)
    second = start_coturn(lab, tmp_path / "stun-second", SECOND_PUBLIC_ADDRESS)
    server = None
    try:
        stun = [json.loads(stun_servers(a))[0] for a in (PUBLIC_ADDRESS, SECOND_PUBLIC_ADDRESS)]
        server = start_lab_server(
            lab,
            tmp_path / "server",
            {
                "PEERLANE_ICE_SERVERS": json.dumps(stun),
                "PEERLANE_TURN_URLS": ",".join(coturn.urls),
                "PEERLANE_TURN_SECRET": coturn.secret,
                "SSL_CERT_FILE": str(coturn.certificate),
            },
        )
        ns = peer_namespaces(lab, scenario(name))[0]
        page = lab_browsers.new(ns, server.base)
        page.goto(f"{server.base}/diagnostics")
        shown = page.locator("[data-testid=diag-verdict]")
        expect(shown).to_be_visible(timeout=RUN_TIMEOUT_MS)
        report = page.locator("[data-testid=diag-report]").text_content()
        expect(page.locator("[data-testid=diag-mapping]")).to_have_attribute(
            "data-mapping", mapping
        )
        expect(shown).to_have_attribute("data-verdict", verdict)
        expect(page.locator("[data-testid=diag-advice]")).to_contain_text(advice)
        print(f"netlab diagnostics mapping {name}:\n{report}")
    finally:
        if server is not None:
            server.stop()
        second.stop()

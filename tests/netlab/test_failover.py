"""Scenario 7 of the matrix (issue #11): two TURN providers, the first goes down while the
second works. Within one health-check interval the server stops handing out the first;
a pair that needs TURN (port-randomizing NATs) then connects through the second without
waiting on the dead one, and chat and a file get through."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.helpers import PEER, create_room_ui, invite_link, join_by_link_ui, wait_js
from netlab.checks import (
    CONNECT_TIMEOUT,
    ROOM_PATH_JS,
    chat_both_ways,
    file_a_to_b,
    relay_addresses,
)
from netlab.conftest import LabBrowsers, start_coturn, start_lab_server, stun_servers
from netlab.lab import SECOND_PUBLIC_ADDRESS, Lab

pytestmark = pytest.mark.netlab

CHECK_INTERVAL = 3.0  # seconds between the server's TURN health checks
CHECK_TIMEOUT = 2.0  # seconds one check may take
# A pair through TURN connects in about 5 s here (scenario 4); a dead first provider in
# its list would cost it the browser's allocation retries on top.
TURN_CONNECT_S = 15.0

# Whether /readyz reports each named provider as wanted: {name: true (up) / false (down)}.
TURN_HEALTH_IS_JS = """
async (wanted) => {
  const reply = await fetch('/readyz');
  if (!reply.ok) return false;
  const turn = (await reply.json()).turn ?? {};
  return Object.entries(wanted).every(([name, up]) => turn[name]?.up === up);
}
"""

# Each provider's failing URLs in /readyz (URL → why it did not allocate).
TURN_FAILURES_JS = """async () => Object.fromEntries(Object.entries((await (await fetch('/readyz'))
  .json()).turn).map(([name, s]) => [name, s.failures]))"""

# Every URL of the ICE servers the room's welcome handed this page.
WELCOME_URLS_JS = "() => window.peerlane.room._links.mesh._iceServers.flatMap((s) => s.urls)"


def test_turn_provider_down(
    lab: Lab, lab_browsers: LabBrowsers, tmp_path: Path, record_property: Any
) -> None:
    lab.add_public_address(SECOND_PUBLIC_ADDRESS)
    first = start_coturn(lab, tmp_path / "turn-first")
    second = start_coturn(lab, tmp_path / "turn-second", SECOND_PUBLIC_ADDRESS)
    server = None
    try:
        providers = [
            {"name": name, "urls": turn.urls, "priority": rank, "secret": turn.secret}
            for rank, (name, turn) in enumerate((("first", first), ("second", second)))
        ]
        # The TLS health checks trust both coturns' self-signed certificates.
        trusted = tmp_path / "turn-certs.pem"
        trusted.write_bytes(
            b"".join(t.certificate.read_bytes() for t in (first, second) if t.certificate)
        )
        server = start_lab_server(
            lab,
            tmp_path / "server",
            {
                "SSL_CERT_FILE": str(trusted),
                "PEERLANE_ICE_SERVERS": stun_servers(SECOND_PUBLIC_ADDRESS),
                "PEERLANE_TURN_PROVIDERS": json.dumps(providers),
                "PEERLANE_TURN_CHECK_INTERVAL": str(CHECK_INTERVAL),
                "PEERLANE_TURN_CHECK_TIMEOUT": str(CHECK_TIMEOUT),
            },
        )
        sites = [lab.site(1, random_ports=True), lab.site(1, random_ports=True)]
        a = lab_browsers.new(sites[0].peers[0], server.base)
        b = lab_browsers.new(sites[1].peers[0], server.base)
        a.goto(f"{server.base}/")
        wait_js(a, TURN_HEALTH_IS_JS, {"first": True, "second": True}, timeout=30,
                what="both TURN providers checked and up")  # fmt: skip
        # Every URL of a provider allocated, TURN over TLS (the certificate checked) too.
        failures = a.evaluate(TURN_FAILURES_JS)
        assert failures == {"first": {}, "second": {}}, failures

        first.stop()
        stopped = time.monotonic()
        wait_js(
            a,
            TURN_HEALTH_IS_JS,
            {"first": False, "second": True},
            timeout=3 * (CHECK_INTERVAL + CHECK_TIMEOUT),
            what="the server finding the first TURN provider down",
        )
        noticed_s = time.monotonic() - stopped
        record_property("provider_down_noticed_s", round(noticed_s, 2))
        # One interval, then the check's own time (a refused allocation fails at once,
        # a silent one at the timeout), plus the test's polling.
        assert noticed_s <= CHECK_INTERVAL + CHECK_TIMEOUT + 2, noticed_s

        started = time.monotonic()
        room_id = create_room_ui(a, server.base, "alice")
        assert join_by_link_ui(b, invite_link(a), "bob") == room_id
        for page in (a, b):
            urls = page.evaluate(WELCOME_URLS_JS)
            assert not [u for u in urls if first.address in u], urls
            assert set(second.urls) <= set(urls), urls
        for page in (a, b):
            expect(page.locator(f"{PEER}[data-path=turn]")).to_have_count(
                1, timeout=CONNECT_TIMEOUT * 1000
            )
        connect_s = time.monotonic() - started
        record_property("connect_s", round(connect_s, 2))
        found = [
            wait_js(p, ROOM_PATH_JS, timeout=CONNECT_TIMEOUT, what="a selected pair")
            for p in (a, b)
        ]
        for pair in found:  # a relay through the second provider, on one side or both
            assert relay_addresses(pair) == {SECOND_PUBLIC_ADDRESS}, found
        assert connect_s <= TURN_CONNECT_S, connect_s

        chat_both_ways(a, b, "provider down")
        view = file_a_to_b(a, b, tmp_path)
        assert view["path"] == "turn", view
        print(
            f"netlab 7-turn-provider-down: noticed in {noticed_s:.1f} s, "
            f"connected in {connect_s:.1f} s through the second"
        )
    finally:
        if server is not None:
            server.stop()
        second.stop()
        first.stop()

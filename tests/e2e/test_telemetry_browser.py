"""Browser telemetry (web/telemetry.js): two browsers connect directly, each reports its
attempt, and the server's /metrics counts them as connected on the direct path with a
connect time; no report names a person or an address. With telemetry off nothing counts."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import expect
from prometheus_client.parser import text_string_to_metric_families

from e2e.helpers import PEER, create_room_ui, invite_link, join_by_link_ui
from support import ServerProcess, wait_until

pytestmark = pytest.mark.browser

ServerFactory = Callable[..., ServerProcess]


def metric(base: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def connect_pair(server: ServerProcess, browsers) -> None:
    a, b = browsers.new("alice").page, browsers.new("bob").page
    create_room_ui(a, server.base, "alice")
    join_by_link_ui(b, invite_link(a), "bob")
    for page in (a, b):
        expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=30_000)


def test_a_direct_pair_is_counted_in_metrics(server_factory: ServerFactory, browsers) -> None:
    server = server_factory()
    connect_pair(server, browsers)
    attempts = "peerlane_client_connect_attempts_total"
    wait_until(
        lambda: (
            metric(server.base, attempts, client="web", path="direct", outcome="connected") == 2
        ),
        timeout=30,
        what="both browsers' connected attempts in /metrics",
    )
    timed = metric(server.base, "peerlane_client_connect_seconds_count", path="direct")
    assert timed == 2
    assert metric(server.base, attempts, client="web", outcome="failed") == 0
    assert not any(b.errors for b in browsers.all), [b.errors for b in browsers.all]


def test_telemetry_off_counts_nothing(server_factory: ServerFactory, browsers) -> None:
    server = server_factory(PEERLANE_TELEMETRY="false")
    connect_pair(server, browsers)
    # Each browser's first report is refused (telemetry_off) and it stops: two refusals.
    wait_until(
        lambda: metric(server.base, "peerlane_errors_total", code="telemetry_off") == 2,
        timeout=30,
        what="both browsers' reports refused",
    )
    assert metric(server.base, "peerlane_client_connect_attempts_total") == 0


def test_a_failed_pair_links_to_diagnostics_and_is_counted(
    server_factory: ServerFactory, browsers, udp_blocked
) -> None:
    """UDP dropped and no TURN: ICE fails, each panel explains it with a link to
    /diagnostics, and each browser reports a failed attempt (no TURN was offered)."""
    server = server_factory()
    a, b = browsers.new("alice").page, browsers.new("bob").page
    create_room_ui(a, server.base, "alice")
    join_by_link_ui(b, invite_link(a), "bob")
    for page in (a, b):
        link = page.locator(f"{PEER} [data-testid=diagnostics-link]")
        expect(link).to_have_count(1, timeout=40_000)
        expect(link).to_have_attribute("href", "/diagnostics")
    failures = "peerlane_client_connect_failures_total"
    wait_until(
        lambda: (
            sum(
                metric(server.base, failures, client="web", reason=reason)
                for reason in ("no-turn", "timeout")
            )
            >= 2
        ),
        timeout=30,
        what="both browsers' failed attempts in /metrics",
    )
    connected = "peerlane_client_connect_attempts_total"
    assert metric(server.base, connected, client="web", outcome="connected") == 0

"""Connection reports: participants only, schema-checked, bounded, rate-limited, can be
turned off; they show in /metrics as success counts, connect-time histograms and bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from support import Member, ServerProcess, assert_error, create_room

StartServer = Callable[..., ServerProcess]
Client = Callable[[ServerProcess], httpx.Client]

REPORT: dict[str, Any] = {
    "v": 1,
    "client": "web",
    "attempts": [
        {"outcome": "connected", "path": "direct", "connect_ms": 420},
        {"outcome": "connected", "path": "turn-udp", "connect_ms": 1800},
        {"outcome": "failed", "path": "turn-tcp", "reason": "turn-unreachable"},
    ],
    "bytes": [{"path": "turn-udp", "sent": 5000, "received": 7000}],
    "errors": [{"kind": "TypeError", "count": 2}, {"kind": "MyAppSecretThing"}],
}


def send(http: httpx.Client, member: Member, body: Any) -> httpx.Response:
    return http.post(f"/api/rooms/{member.room_id}/telemetry", json=body, headers=member.auth)


def samples(http: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(http.get("/metrics").text):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_a_report_moves_the_metrics(start_server: StartServer, client: Client) -> None:
    server = start_server()
    http = client(server)
    owner = create_room(http)
    r = send(http, owner, REPORT)
    assert r.status_code == 204, r.text
    m = samples(http)
    attempts = "peerlane_client_connect_attempts_total"
    assert value(m, attempts, client="web", path="direct", outcome="connected") == 1
    assert value(m, attempts, client="web", path="turn-tcp", outcome="failed") == 1
    assert (
        value(m, "peerlane_client_connect_failures_total", client="web", reason="turn-unreachable")
        == 1
    )
    assert value(m, "peerlane_client_connect_seconds_count", path="turn-udp") == 1
    assert value(m, "peerlane_client_connect_seconds_sum", path="turn-udp") == 1.8
    assert value(m, "peerlane_client_connect_seconds_bucket", path="direct", le="0.5") == 1
    assert value(m, "peerlane_client_bytes_total", path="turn-udp", direction="received") == 7000
    assert value(m, "peerlane_client_errors_total", client="web", kind="TypeError") == 2
    # A kind the server does not know is counted without its name (no free text).
    assert value(m, "peerlane_client_errors_total", client="web", kind="other") == 1
    assert not any(
        "MyAppSecretThing" in name or "MyAppSecretThing" in str(labels) for name, labels in m
    )


def test_bad_reports_get_a_clear_4xx(start_server: StartServer, client: Client) -> None:
    server = start_server(telemetry_reports_per_minute=100)
    http = client(server)
    owner = create_room(http)
    bad: list[Any] = [
        {**REPORT, "message": "hello"},  # no free-form fields
        {**REPORT, "client": "curl"},
        {**REPORT, "attempts": [{"outcome": "connected", "path": "carrier-pigeon"}]},
        {**REPORT, "attempts": [{"outcome": "connected", "connect_ms": -1}]},
        {**REPORT, "attempts": [{"outcome": "connected"}] * 21},  # bounded
        {**REPORT, "errors": [{"kind": "has spaces and text"}]},
        {**REPORT, "bytes": [{"path": "direct", "sent": 1 << 50}]},
        {**REPORT, "v": 2},
        [],
    ]
    for body in bad:
        assert_error(send(http, owner, body), 422, "invalid_message")
    r = http.post(f"/api/rooms/{owner.room_id}/telemetry", json=REPORT)  # no credentials
    assert r.status_code == 401
    assert samples(http).get(("peerlane_client_connect_attempts_total", frozenset())) is None


def test_reports_are_rate_limited_per_participant(
    start_server: StartServer, client: Client
) -> None:
    server = start_server(telemetry_reports_per_minute=2)
    http = client(server)
    owner = create_room(http)
    assert send(http, owner, REPORT).status_code == 204
    assert send(http, owner, REPORT).status_code == 204
    r = send(http, owner, REPORT)
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) >= 1
    m = samples(http)
    attempts = "peerlane_client_connect_attempts_total"
    assert value(m, attempts, client="web", path="direct", outcome="connected") == 2


def test_an_operator_can_turn_reports_off(start_server: StartServer, client: Client) -> None:
    server = start_server(telemetry="false")
    http = client(server)
    owner = create_room(http)
    assert_error(send(http, owner, REPORT), 404, "telemetry_off")
    assert value(samples(http), "peerlane_client_errors_total", client="web", kind="TypeError") == 0

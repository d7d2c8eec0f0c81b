"""``peerlane chat`` reports its connection (path "server": the room's WebSocket) to the
telemetry endpoint: /metrics counts a connected attempt from the CLI with its connect
time; with telemetry off the chat works the same and nothing is counted."""

from __future__ import annotations

import subprocess
import sys

import httpx
from prometheus_client.parser import text_string_to_metric_families

from support import TIMEOUT, ServerProcess, create_room


def metric(http: httpx.Client, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(http.get("/metrics").text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def send_one_line(server: ServerProcess, http: httpx.Client) -> None:
    alice = create_room(http)
    done = subprocess.run(
        [sys.executable, "-m", "peerlane", "chat", alice.body["invite"]["link"], "--send-only"],
        input=b"hello\n",
        capture_output=True,
        timeout=3 * TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()


def test_chat_reports_its_connection(start_server, client) -> None:
    server = start_server()
    http = client(server)
    send_one_line(server, http)
    attempts = "peerlane_client_connect_attempts_total"
    assert metric(http, attempts, client="cli", path="server", outcome="connected") == 1
    assert metric(http, "peerlane_client_connect_seconds_count", path="server") == 1


def test_nothing_counted_with_telemetry_off(start_server, client) -> None:
    server = start_server(telemetry="false")
    http = client(server)
    send_one_line(server, http)
    assert metric(http, "peerlane_client_connect_attempts_total", client="cli") == 0
    assert metric(http, "peerlane_errors_total", code="telemetry_off") == 1

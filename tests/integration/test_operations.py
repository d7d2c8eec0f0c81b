"""Operating the server: health, metrics, logs, the command line and self-signed HTTPS."""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from peerlane.config import Settings, env_name, option_name
from support import (
    TIMEOUT,
    Peer,
    ServerProcess,
    assert_error,
    create_room,
    free_port,
    join,
    link_token,
    open_socket,
    wait_until,
)


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format, or None if absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        sample, _, value = line.rpartition(" ")
        found_name, _, label_text = sample.partition("{")
        found = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
        if found_name == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


def json_lines(logs: str) -> list[dict[str, Any]]:
    lines = []
    for raw in logs.splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def test_health_readiness_and_metrics(server: ServerProcess, http: httpx.Client):
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz").json()
    # Which instance answered (behind a balancer): a random id, another per process.
    assert ready == {"status": "ready", "instance": ready["instance"]}
    assert len(ready["instance"]) >= 6

    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    pa, pb = Peer(server, alice), Peer(server, bob)
    pa.chat("m1")
    pa.chat("m2")
    pa.send({"type": "signal", "to": pb.peer_id, "kind": "offer", "data": {}})
    pb.expect("signal")
    pa.send("{broken")
    pa.expect("error")
    http.get(f"/api/rooms/{alice.room_id}")  # 401
    assert http.get("/static/app.js").status_code == 200
    assert http.get("/static/no-such-file.js").status_code == 404
    assert http.get("/no/such/page").status_code == 404

    r = http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert metric(text, "peerlane_websocket_connections") == 2
    assert metric(text, "peerlane_messages_relayed_total") == 2
    assert metric(text, "peerlane_signals_relayed_total") == 1
    assert metric(text, "peerlane_errors_total", code="invalid_json", transport="websocket") == 1
    assert metric(text, "peerlane_errors_total", code="unauthorized", transport="http") == 1
    count = metric(text, "peerlane_http_request_seconds_count", method="POST", route="/api/rooms")
    assert count == 1
    assert metric(
        text, "peerlane_http_request_seconds_count", method="GET", route="/api/rooms/{room_id}"
    )
    assert alice.room_id not in text  # route templates, never concrete ids
    statics = metric(
        text, "peerlane_http_request_seconds_count", method="GET", route="/static/{path}"
    )
    assert statics == 2  # the mount's template, never the file names
    assert "app.js" not in text
    assert "no-such-file" not in text
    assert metric(text, "peerlane_http_request_seconds_count", method="GET", route="unmatched") == 1

    pb.close()
    pa.close()
    wait_until(
        lambda: metric(http.get("/metrics").text, "peerlane_websocket_connections") == 0,
        what="connection gauge back to 0",
    )


def test_logs_carry_ids_and_never_secrets(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    invite = alice.body["invite"]
    bob = join(http, "bob", token=link_token(alice))
    carol = join(http, "carol", code=invite["code"])
    extra = http.post(f"/api/rooms/{alice.room_id}/invites", json={}, headers=alice.auth).json()
    cookie_login = http.post(
        "/api/join",
        json={"display_name": "dora", "token": link_token(alice), "session": "cookie"},
    )
    cookie = cookie_login.cookies["peerlane_session"]
    pa, pb = Peer(server, alice), Peer(server, bob)
    pa.chat("hello-logs", {"secret-ish": "body"})
    pb.expect("message")
    pa.send("{broken")
    pa.expect("error")
    wrong = "Bearer v1.not-a-real.token-value-123"
    assert_error(
        http.get(f"/api/rooms/{alice.room_id}", headers={"Authorization": wrong}),
        401,
        "unauthorized",
    )
    assert_error(
        http.post("/api/join", json={"display_name": "x", "token": "guessed-token-xyz"}),
        404,
        "invite_not_found",
    )
    r = http.get(f"/api/rooms/{alice.room_id}", headers=carol.auth)
    request_id = r.headers["x-request-id"]
    pa.close()
    pb.close()
    with open_socket(server.ws_url(alice.room_id), additional_headers=bob.auth) as ws:
        ws.send(json.dumps({"type": "hello", "v": 1}))
        ws.recv(timeout=TIMEOUT)
    server.stop()  # flushes and ends every line

    logs = server.logs()
    secrets = {
        "alice token": alice.token,
        "bob token": bob.token,
        "carol token": carol.token,
        "cookie": cookie,
        "link token": link_token(alice),
        "second link token": extra["link"].split("#", 1)[1],
        "short code": invite["code"],
        "short code words": invite["code"].split("-", 1)[1],
        "wrong bearer": "not-a-real.token-value-123",
        "guessed token": "guessed-token-xyz",
    }
    for what, secret in secrets.items():
        assert secret not in logs, f"{what} leaked into the logs"
    assert "Traceback" not in logs

    lines = json_lines(logs)
    http_lines = [line for line in lines if line.get("event") == "http"]
    ws_lines = [line for line in lines if str(line.get("event", "")).startswith("ws.")]
    assert len(http_lines) >= 8
    assert len(ws_lines) >= 6
    assert all(line.get("request_id") for line in http_lines)
    assert all(line.get("conn_id") for line in ws_lines)
    assert request_id in {line["request_id"] for line in http_lines}
    assert {line["conn_id"] for line in ws_lines} >= {pa.peer_id, pb.peer_id}
    # Paths are logged as route templates.
    assert "/api/rooms/{room_id}" in {line["path"] for line in http_lines}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peerlane", *args],
        env={**os.environ, "COLUMNS": "250", "TERM": "dumb", **(env or {})},
        capture_output=True,
        text=True,
        timeout=3 * TIMEOUT,
        check=False,
    )


def test_serve_help_lists_every_setting():
    result = run_cli("serve", "--help")
    assert result.returncode == 0, result.stderr
    for field in Settings.model_fields:
        assert option_name(field) in result.stdout, field
        assert env_name(field) in result.stdout, field


def test_bad_setting_names_the_option_and_the_variable(tmp_path: Path):
    result = run_cli("serve", env={"PEERLANE_PORT": "abc", "PEERLANE_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "--port" in output
    assert "PEERLANE_PORT" in output
    assert "Traceback" not in output


def test_self_signed_serves_https_with_hsts_and_prints_the_fingerprint(tmp_path: Path):
    port = free_port()
    data_dir = tmp_path / "data"
    stdout_path, stderr_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = {**os.environ, "PEERLANE_LOG_FORMAT": "json"}
    args = ["serve", "--self-signed", "--port", str(port), "--data-dir", str(data_dir)]
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "peerlane", *args], env=env, stdout=out, stderr=err
        )
    base = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, verify=False, timeout=10) as https:
            deadline = time.monotonic() + 3 * TIMEOUT
            while True:
                assert proc.poll() is None, stderr_path.read_text()
                try:
                    if https.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, stderr_path.read_text()
                time.sleep(0.05)  # polling a port that is not yet bound

            r = https.get("/healthz")
            assert r.status_code == 200
            assert r.headers["strict-transport-security"].startswith("max-age=")
            assert r.headers["x-content-type-options"] == "nosniff"

            r = https.post("/api/rooms", json={"display_name": "alice", "session": "cookie"})
            assert r.status_code == 201, r.text
            assert r.json()["invite"]["link"].startswith(f"{base}/join#")
            assert "secure" in r.headers["set-cookie"].lower()
            bearer = create_room(https, "bob")

        # WSS works too.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        url = f"wss://127.0.0.1:{port}/api/rooms/{bearer.room_id}/ws"
        with open_socket(url, additional_headers=bearer.auth, ssl=context) as ws:
            ws.send(json.dumps({"type": "hello", "v": 1}))
            assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "welcome"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=3 * TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    cert = x509.load_pem_x509_certificate((data_dir / "tls" / "cert.pem").read_bytes())
    expected = ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
    stdout = stdout_path.read_text()
    assert "fingerprint" in stdout.lower()
    assert expected in stdout
    assert f"https://127.0.0.1:{port}/" in stdout

"""``peerlane doctor`` against a real server and a local coturn (started here, on
loopback, with use-auth-secret): with coturn up every STUN and TURN check passes with the
server-issued credentials; with coturn stopped they fail, with the advice for it."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import TIMEOUT, free_port, wait_until

SECRET = "doctor-test-secret"

pytestmark = pytest.mark.skipif(shutil.which("turnserver") is None, reason="needs coturn")


def listening(port: int) -> bool:
    """coturn has bound its UDP port and accepts on its TCP one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            pass  # taken: coturn's
        else:
            return False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    log = (tmp_path / "coturn.log").open("wb")
    proc = subprocess.Popen(
        [
            "turnserver",
            "-n",
            "--listening-ip=127.0.0.1",
            f"--listening-port={port}",
            "--relay-ip=127.0.0.1",
            "--use-auth-secret",
            f"--static-auth-secret={SECRET}",
            "--realm=peerlane.test",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--log-file=stdout",
            "--min-port=49300",
            "--max-port=49400",
        ],
        stdout=log,
        stderr=log,
    )
    # Nothing tells when it listens: poll its ports, with a deadline.
    wait_until(lambda: listening(port), what="coturn listening")
    yield port, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)
    log.close()


def doctor(base: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "peerlane", "doctor", "--server", base, "--json"],
        capture_output=True,
        timeout=6 * TIMEOUT,
        check=False,
    )
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    return done.returncode, json.loads(done.stdout)


def test_doctor_with_coturn_up_then_stopped(start_server, coturn) -> None:
    port, proc = coturn
    server = start_server(
        turn_urls=f"turn:127.0.0.1:{port}?transport=udp,turn:127.0.0.1:{port}?transport=tcp",
        turn_secret=SECRET,
        # The same coturn under two names: two STUN answers to one socket to compare.
        ice_servers=json.dumps([{"urls": [f"stun:127.0.0.1:{port}", f"stun:localhost:{port}"]}]),
    )
    code, report = doctor(server.base)
    checks = {c["name"]: c for c in report["checks"]}
    assert code == 0, report
    assert set(checks) == {
        "server",
        "websocket",
        f"STUN UDP 127.0.0.1:{port}",
        f"STUN UDP localhost:{port}",
        f"TURN UDP 127.0.0.1:{port}",
        f"TURN TCP 127.0.0.1:{port}",
    }
    assert all(c["ok"] for c in checks.values()), checks
    assert "relay allocated at 127.0.0.1:" in checks[f"TURN UDP 127.0.0.1:{port}"]["detail"]
    assert report["reflexive_address"] == "127.0.0.1"
    assert str(report["nat"]).startswith("no NAT")
    assert report["nat_mapping"] == "independent", report  # loopback: one address for all
    assert report["verdict"] == "direct", report

    proc.terminate()
    proc.wait(timeout=TIMEOUT)
    code, report = doctor(server.base)
    checks = {c["name"]: c for c in report["checks"]}
    assert code == 1, report
    assert checks["server"]["ok"]
    assert checks["websocket"]["ok"]
    for name in ("STUN UDP", "TURN UDP", "TURN TCP"):
        assert not checks[f"{name} 127.0.0.1:{port}"]["ok"], checks
    advice = " ".join(report["advice"])
    assert "No TURN relay works from here" in advice
    assert "UDP is likely blocked" in advice
    assert report["verdict"] == "server", report
    assert report["nat_mapping"] == "unknown", report


def test_doctor_unreachable_server_and_no_ice_servers(start_server) -> None:
    server = start_server()
    code, report = doctor(server.base)
    assert code == 0, report  # nothing failed …
    assert "no STUN or TURN server" in " ".join(report["advice"])
    assert report["verdict"] == "lan", report
    port = server.port
    server.stop()
    code, report = doctor(f"http://127.0.0.1:{port}")
    assert code == 4
    assert report["advice"] == [
        "The server cannot be reached: check the address (--server) and your network."
    ]

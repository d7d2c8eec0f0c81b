"""``peerlane turn-config`` prints a coturn configuration that coturn runs with, and that
accepts the credentials the server hands out."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import coturn
from peerlane.core.stun import IceUrl
from peerlane.core.turn import TurnProvider
from peerlane.server.turn_probe import allocate
from peerlane.turn_config import DENIED_PEERS, coturn_range
from support import free_port


def turn_config(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peerlane", "turn-config", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_coturn_runs_the_printed_configuration_and_accepts_our_credentials(
    tmp_path: Path,
) -> None:
    port, secret = free_port(), "a-generated-secret-" + os.urandom(8).hex()
    urls = [f"turn:127.0.0.1:{port}?transport=udp", f"turn:127.0.0.1:{port}?transport=tcp"]
    env = {"PEERLANE_TURN_URLS": ",".join(urls), "PEERLANE_TURN_SECRET": secret}
    low = 50000 + (port % 100) * 100
    done = turn_config(
        env,
        f"--port={port}",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--min-port={low}",
        f"--max-port={low + 99}",
    )
    assert done.returncode == 0, done.stderr
    conf = tmp_path / "turnserver.conf"
    conf.write_text(done.stdout)
    assert f"static-auth-secret={secret}\n" in done.stdout
    assert "realm=127.0.0.1\n" in done.stdout
    assert "denied-peer-ip=169.254.0.0-169.254.255.255\n" in done.stdout

    args = ["-c", str(conf), f"--userdb={tmp_path / 'db'}", f"--pidfile={tmp_path / 'pid'}"]
    with coturn.run(args, port, tmp_path / "turnserver.log"):
        provider = TurnProvider(name="default", urls=urls, secret=secret)
        username, password = provider.credentials("someone", now=time.time(), ttl=600)

        async def both() -> list[str | None]:
            return [
                await allocate(IceUrl.parse(url), username, password, seconds=3) for url in urls
            ]

        assert asyncio.run(both()) == [None, None]
    # coturn took every denied range (it logs each one it parsed).
    log = (tmp_path / "turnserver.log").read_text()
    for network in DENIED_PEERS:
        assert f"Black listing: {coturn_range(network)}" in log


def test_tls_settings_with_a_certificate(tmp_path: Path) -> None:
    env = {"PEERLANE_TURN_URLS": "turns:turn.example.org:5349", "PEERLANE_TURN_SECRET": "s" * 32}
    done = turn_config(env, "--cert=/etc/ssl/t.pem", "--pkey=/etc/ssl/t.key")
    assert done.returncode == 0, done.stderr
    for line in (
        "tls-listening-port=5349",
        "cert=/etc/ssl/t.pem",
        "pkey=/etc/ssl/t.key",
        "no-tlsv1",
        "no-tlsv1_1",
        "realm=turn.example.org",
    ):
        assert line + "\n" in done.stdout
    assert "no-tls\n" not in done.stdout


@pytest.mark.parametrize(
    ("env", "args", "words"),
    [
        ({}, [], "no TURN secret is configured"),
        (
            {"PEERLANE_TURN_URLS": "turn:a", "PEERLANE_TURN_SECRET": "s" * 32},
            ["--provider=x"],
            "no TURN provider named 'x'",
        ),
        (
            {"PEERLANE_TURN_URLS": "turn:a", "PEERLANE_TURN_SECRET": "s" * 32},
            ["--cert=c"],
            "--cert and --pkey go together",
        ),
    ],
)
def test_refusals_say_why(env: dict[str, str], args: list[str], words: str) -> None:
    clean = {k: "" for k in os.environ if k.startswith("PEERLANE_")}
    done = turn_config({**clean, **env}, *args)
    assert done.returncode == 2
    assert words in done.stderr


def test_denied_ranges_cover_the_metadata_address_and_private_networks() -> None:
    networks = [ipaddress.ip_network(n) for n in DENIED_PEERS]
    for address in (
        "169.254.169.254",
        "10.1.2.3",
        "192.168.1.1",
        "172.20.0.1",
        "127.0.0.1",
        "100.64.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
    ):
        assert any(ipaddress.ip_address(address) in net for net in networks), address
    assert not any(ipaddress.ip_address("8.8.8.8") in net for net in networks)
    assert coturn_range("10.0.0.0/8") == "10.0.0.0-10.255.255.255"
    assert coturn_range("::1/128") == "::1"

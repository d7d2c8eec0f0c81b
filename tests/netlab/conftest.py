"""Fixtures of the network-scenario matrix (issue #11): a lab of network namespaces
(tests/netlab/lab.py), coturn and a peerlane server in its "public" namespace, and headless
Chromiums each launched inside a peer namespace.

How a browser gets into a namespace: Playwright launches a small wrapper script as the
"browser executable", which does ``exec ip netns exec <ns> /usr/bin/chromium "$@"``. The
exec chain keeps Playwright's pipe (``--remote-debugging-pipe``, fds 3 and 4), so the test
process stays in the host namespace and drives a Chromium whose sockets live in the peer's.

Needs root. Where the lab cannot be built the whole module is skipped with ONE line
saying why; under CI (CI=true) that is an error instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chromium_flags import CHROMIUM_FLAGS
from netlab.lab import PUBLIC_ADDRESS, TURN_PORT, TURN_TLS_PORT, Lab, can_build_namespaces
from support import TIMEOUT, ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
TURN_REALM = "peerlane.test"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if "netlab" in item.keywords]
    if not mine:
        return
    why = can_build_namespaces()
    if why is None:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"netlab: the scenario matrix cannot run in CI: {why}")
    line = f"netlab: SKIPPED, the network-scenario matrix {why}"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:  # past pytest's output capture: always seen
        reporter.write_line(line, yellow=True, bold=True)
    skip = pytest.mark.skip(reason=f"netlab: {why}")
    for item in mine:
        item.add_marker(skip)


@pytest.fixture
def lab() -> Iterator[Lab]:
    built = Lab()
    try:
        yield built
    finally:
        built.close()


@dataclass
class Turn:
    secret: str
    proc: subprocess.Popen[bytes]
    address: str = PUBLIC_ADDRESS
    certificate: Path | None = None  # its self-signed TLS certificate (PEM)

    def credentials(self, user: str, ttl: int = 3600) -> tuple[str, str]:
        """TURN REST credentials (coturn's use-auth-secret)."""
        username = f"{int(time.time()) + ttl}:{user}"
        mac = hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()
        return username, base64.b64encode(mac).decode()

    @property
    def urls(self) -> list[str]:
        base = f"turn:{self.address}:{TURN_PORT}"
        tls = f"turns:{self.address}:{TURN_TLS_PORT}?transport=tcp"
        return [f"{base}?transport=udp", f"{base}?transport=tcp", tls]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def self_signed(workdir: Path, address: str) -> tuple[Path, Path]:
    """A certificate for ``address`` (an IP SAN: the URLs name the address) and its key."""
    cert, key = workdir / "turn-cert.pem", workdir / "turn-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", f"/CN={address}",
         "-addext", f"subjectAltName=IP:{address}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def start_coturn(lab: Lab, workdir: Path, address: str = PUBLIC_ADDRESS) -> Turn:
    """coturn in the public namespace on ``address`` (UDP and TCP on 3478, STUN too, TLS
    on 5349 with a self-signed certificate), with a generated secret; its files in
    ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(16)
    cert, key = self_signed(workdir, address)
    log = (workdir / "coturn.log").open("wb")
    proc = subprocess.Popen(
        [
            "ip", "netns", "exec", lab.public, "turnserver", "-n",
            f"--listening-ip={address}", f"--relay-ip={address}",
            f"--listening-port={TURN_PORT}", "--min-port=49152", "--max-port=49999",
            "--use-auth-secret", f"--static-auth-secret={secret}", f"--realm={TURN_REALM}",
            f"--tls-listening-port={TURN_TLS_PORT}", f"--cert={cert}", f"--pkey={key}",
            "--no-dtls", "--no-cli", "--fingerprint", "--log-file=stdout",
            "--simple-log", f"--pidfile={workdir / 'coturn.pid'}",
            f"--userdb={workdir / 'turndb'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    turn = Turn(secret, proc, address, cert)
    try:
        for port in (TURN_PORT, TURN_TLS_PORT):
            _wait_listening(lab.public, port, proc, address)
    except BaseException:
        turn.stop()
        raise
    return turn


@pytest.fixture
def coturn(lab: Lab, tmp_path: Path) -> Iterator[Turn]:
    turn = start_coturn(lab, tmp_path / "coturn")
    try:
        yield turn
    finally:
        turn.stop()


def _wait_listening(
    ns: str, port: int, proc: subprocess.Popen[bytes], address: str | None = None
) -> None:
    # A server's start is only a bound: on a loaded 2-core machine importing the app
    # alone took 30 s (CI-like load 30), so it gets twice the other waits.
    deadline = time.monotonic() + 6 * TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before listening on {port}")
        out = subprocess.run(
            ["ip", "netns", "exec", ns, "ss", "-Htln", f"sport = :{port}"
             + (f" and src = {address}" if address else "")],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        if out.strip():
            return
        time.sleep(0.1)  # a port not yet bound: nothing to wait on but the port
    raise TimeoutError(f"nothing listening on {port} in {ns}")


@dataclass
class NetnsServer(ServerProcess):
    """``python -m peerlane serve`` in the lab's public namespace."""

    namespace: str = ""

    @property
    def base(self) -> str:
        return f"http://{PUBLIC_ADDRESS}:{self.port}"

    def wait_ready(self) -> None:
        assert self.proc is not None
        _wait_listening(self.namespace, self.port, self.proc)


def start_lab_server(lab: Lab, workdir: Path, env: dict[str, str]) -> NetnsServer:
    """``peerlane serve`` in the public namespace with ``env`` on top of the lab's basics."""
    server = NetnsServer(
        workdir,
        env={
            "PEERLANE_HOST": PUBLIC_ADDRESS,
            "PEERLANE_PROFILE": "lan",
            "PEERLANE_LOG_LEVEL": "info",
            **env,
        },
        command=["ip", "netns", "exec", lab.public, sys.executable, "-m", "peerlane", "serve"],
        namespace=lab.public,
    )
    server.start()
    return server


def stun_servers(address: str = PUBLIC_ADDRESS) -> str:
    return json.dumps([{"urls": [f"stun:{address}:{TURN_PORT}"]}])


@pytest.fixture
def lab_server(lab: Lab, coturn: Turn, tmp_path: Path) -> Iterator[NetnsServer]:
    """The peerlane server beside coturn: STUN and TURN (UDP, TCP and TLS) in its welcome."""
    server = start_lab_server(
        lab,
        tmp_path / "server",
        {
            "PEERLANE_ICE_SERVERS": stun_servers(),
            "PEERLANE_TURN_URLS": ",".join(coturn.urls),
            "PEERLANE_TURN_SECRET": coturn.secret,
            # The health check's TLS allocation trusts the lab's self-signed certificate.
            "SSL_CERT_FILE": str(coturn.certificate),
        },
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@dataclass
class LabBrowsers:
    playwright: Playwright
    root: Path
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def new(self, namespace: str, origin: str) -> Page:
        """A headless Chromium inside ``namespace``; ``origin`` counts as a secure context."""
        launcher = self.root / f"chromium-{namespace}"
        launcher.write_text(f'#!/bin/sh\nexec ip netns exec {namespace} {CHROMIUM} "$@"\n')
        launcher.chmod(0o755)
        context = self.playwright.chromium.launch_persistent_context(
            str(self.root / f"profile-{namespace}"),
            executable_path=str(launcher),
            headless=True,
            accept_downloads=True,
            args=[
                *CHROMIUM_FLAGS,
                f"--unsafely-treat-insecure-origin-as-secure={origin}",
                # coturn's certificate is self-signed, and Chromium checks a TURN server's
                # certificate as a web server's: without this, no TURN over TLS (701).
                "--ignore-certificate-errors",
            ],
        )
        self.contexts.append(context)
        page = context.pages[0] if context.pages else context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{namespace}: {e}"))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def lab_browsers(playwright: Playwright, tmp_path: Path) -> Iterator[LabBrowsers]:
    made = LabBrowsers(playwright, tmp_path / "browsers")
    made.root.mkdir()
    try:
        yield made
    finally:
        made.close()
    assert not made.errors, made.errors


def ice_config(turn: Turn, *, relay_only: bool = False) -> dict[str, Any]:
    """An RTCConfiguration with the lab's STUN and TURN (for the bare control)."""
    username, password = turn.credentials("control")
    return {
        "iceServers": [
            {"urls": [f"stun:{PUBLIC_ADDRESS}:{TURN_PORT}"]},
            {
                "urls": turn.urls,
                "username": username,
                "credential": password,
            },
        ],
        "iceTransportPolicy": "relay" if relay_only else "all",
    }

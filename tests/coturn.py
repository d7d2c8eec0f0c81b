"""A real coturn (Debian's ``turnserver``) on loopback for tests, with a generated secret."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from peerlane.core import stun
from support import TIMEOUT, free_port

REALM = "peerlane.test"


@dataclass(frozen=True)
class Coturn:
    port: int
    secret: str
    realm: str = REALM

    @property
    def urls(self) -> list[str]:
        host = f"127.0.0.1:{self.port}"
        return [f"turn:{host}?transport=udp", f"turn:{host}?transport=tcp"]


def turnserver() -> str:
    found = shutil.which("turnserver")
    if found is None:
        pytest.fail(
            "coturn not found (turnserver): run `apt-get install -y coturn` (`make test` does).",
            pytrace=False,
        )
    return found


def base_args(work: Path, port: int) -> list[str]:
    # A relay range of its own, so parallel tests rarely meet in it.
    low = random.randrange(49152, 65000, 100)
    return [
        f"--listening-port={port}",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--min-port={low}",
        f"--max-port={low + 99}",
        f"--userdb={work / 'turndb'}",
        f"--pidfile={work / 'turnserver.pid'}",
        "--log-file=stdout",
        "--no-cli",
        "--no-tls",
        "--no-dtls",
    ]


@contextlib.contextmanager
def run(args: list[str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``turnserver`` with ``args`` until the block ends; ready when TCP ``port`` answers."""
    with log.open("wb") as out:
        proc = subprocess.Popen([turnserver(), *args], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"turnserver exited: {log.read_text()[-2000:]}")
            if _answers(port):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"turnserver not listening: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(port: int) -> bool:
    """Both listeners are up: TCP accepts, and a STUN Binding over UDP gets an answer
    (coturn opens its UDP sockets after its TCP ones; an early datagram meets ICMP
    port-unreachable)."""
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            pass
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(0.2)
            udp.sendto(stun.binding_request(os.urandom(12)), ("127.0.0.1", port))
            return stun.decode(udp.recv(2048)) is not None
    except OSError:
        return False


@contextlib.contextmanager
def coturn(port: int | None = None) -> Iterator[Coturn]:
    """coturn with ``use-auth-secret`` (peerlane's TURN REST credentials) on ``port``."""
    port = port or free_port()
    server = Coturn(port=port, secret=secrets.token_hex(16))
    with tempfile.TemporaryDirectory(prefix="peerlane-coturn-") as tmp:
        work = Path(tmp)
        args = [
            *base_args(work, port),
            "--use-auth-secret",
            f"--static-auth-secret={server.secret}",
            f"--realm={server.realm}",
            "--fingerprint",
        ]
        with run(args, port, work / "turnserver.log"):
            yield server

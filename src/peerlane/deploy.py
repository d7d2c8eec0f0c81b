"""Deployment helpers for the command line: the compose stack's env file and the
container health check (docs/deployment.md, "Containers and the compose stack")."""

from __future__ import annotations

import os
import secrets
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from peerlane.config import Settings

# Random secrets in the env file: URL-safe, so they go into database and Redis URLs as
# they are. 32 bytes = 256 bits each.
SECRET_BYTES = 32
SECRET_NAMES = ("PEERLANE_SECRET", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "TURN_SECRET")


class EnvFileExists(Exception):
    """The env file is there already and overwriting it was not asked for."""


@dataclass(frozen=True)
class StackOptions:
    """What an operator chooses for the compose stack; the rest is derived or random."""

    public_url: str = "https://localhost"
    https_port: int = 443
    http_port: int = 80
    turn_port: int = 3478
    turn_relay_ports: tuple[int, int] = (49160, 49200)


def public_host(public_url: str) -> str:
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the public URL must look like https://chat.example.org")
    return parts.hostname


def env_file_text(options: StackOptions, now: datetime | None = None) -> str:
    """The env file compose.yaml reads: fresh random secrets, and the settings that must
    agree between the services (TURN secret, public URL, proxy hops) set once."""
    host = public_host(options.public_url)
    values = {name: secrets.token_urlsafe(SECRET_BYTES) for name in SECRET_NAMES}
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")
    low, high = options.turn_relay_ports
    lines = [
        f"# Written by `peerlane deploy init` at {stamp}.",
        "# Secrets: keep this file private (mode 0600) and out of version control.",
        "# compose.yaml reads it; docs/deployment.md, section Containers, explains each value.",
        "",
        "# -- where people reach the service (nginx terminates TLS) --",
        f"PUBLIC_HOST={host}",
        f"PUBLIC_URL={options.public_url.rstrip('/')}",
        f"HTTPS_PORT={options.https_port}",
        f"HTTP_PORT={options.http_port}",
        "",
        "# -- TURN (coturn, use-auth-secret): peerlane hands out credentials from TURN_SECRET --",
        f"TURN_PORT={options.turn_port}",
        f"TURN_RELAY_MIN_PORT={low}",
        f"TURN_RELAY_MAX_PORT={high}",
        f"TURN_URLS=turn:{host}:{options.turn_port}?transport=udp,"
        f"turn:{host}:{options.turn_port}?transport=tcp",
        "",
        "# -- one nginx in front of the peerlane instances --",
        "PEERLANE_TRUSTED_PROXY_HOPS=1",
        "",
        "# -- secrets (256 bits each) --",
        *(f"{name}={value}" for name, value in values.items()),
        "",
    ]
    return "\n".join(lines)


def write_env_file(path: Path, options: StackOptions, *, force: bool = False) -> None:
    """Write the env file with mode 0600; an existing one is kept unless ``force``."""
    text = env_file_text(options)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise EnvFileExists(str(path)) from exc
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # an overwritten file keeps its old mode otherwise
        out.write(text)


def readyz_url(settings: Settings) -> str:
    """This server's /readyz as seen from its own machine (or container)."""
    host = settings.host
    if host in ("", "0.0.0.0"):  # noqa: S104 - the wildcard is reached through loopback
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.tls else "http"
    return f"{scheme}://{host}:{settings.port}/readyz"


def check_ready(settings: Settings, timeout: float = 4.0) -> tuple[bool, str]:
    """Ask /readyz once: (ready, what to print)."""
    if settings.port == 0:
        return False, "the port is 0 (any free port): set PEERLANE_PORT to check it"
    url = readyz_url(settings)
    context = None
    if settings.tls:
        # Our own listener, possibly with a self-signed certificate: only liveness counts.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as reply:  # noqa: S310 - http(s) URL built above
            return reply.status == 200, f"{url}: {reply.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: {exc.code}"
    except (OSError, ValueError) as exc:
        return False, f"{url}: {getattr(exc, 'reason', exc)}"

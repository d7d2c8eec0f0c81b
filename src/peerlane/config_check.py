"""What is unsafe or will not work in a configuration, for the place it is meant for.

The ``profile`` setting says where the server runs (docs/deployment.md, "Profiles"):

- ``local``: this computer only (the default);
- ``lan``: phones and laptops on the same network reach it directly;
- ``internet``: anyone may reach it, through a TLS proxy or with its own certificate.

:func:`check` returns findings (no I/O: settings in, verdicts out); ``peerlane serve
--check-config`` prints them and exits non-zero if any is an error, ``peerlane serve``
prints them at start.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

from peerlane.config import Settings

Level = Literal["error", "warning"]
# A TURN shared secret shorter than this can be guessed offline from one credential.
MIN_TURN_SECRET = 16
MIN_TOKEN_SECRET = 32


@dataclass(frozen=True)
class Finding:
    level: Level
    setting: str  # the option to look at, as given on the command line
    text: str

    def __str__(self) -> str:
        return f"{self.level}: {self.setting}: {self.text}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: whatever it resolves to


def _all_interfaces(host: str) -> bool:
    return host in ("0.0.0.0", "::", "")  # noqa: S104 - comparing, not binding


def check(settings: Settings) -> list[Finding]:
    """Every finding for ``settings`` under its profile, errors first."""
    found = _common(settings)
    if settings.profile == "local":
        found += _local(settings)
    elif settings.profile == "lan":
        found += _lan(settings)
    else:
        found += _internet(settings)
    return sorted(found, key=lambda f: f.level != "error")


def _common(s: Settings) -> list[Finding]:
    found = []
    if s.public_url is not None:
        parts = urlsplit(s.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            found.append(Finding("error", "--public-url", "not an http(s) URL with a host name"))
    if s.turn_urls and s.turn_secret is None:
        found.append(
            Finding(
                "error",
                "--turn-secret",
                "TURN URLs are given without the coturn shared secret: browsers get no "
                "credentials and TURN is never used",
            )
        )
    if s.turn_secret is not None and not s.turn_urls:
        found.append(Finding("warning", "--turn-urls", "a TURN secret without TURN URLs is unused"))
    found += _too_short(
        s.turn_secret,
        MIN_TURN_SECRET,
        "--turn-secret",
        "anyone holding one TURN credential can guess it offline (openssl rand -hex 32 "
        "makes a good one)",
    )
    for provider in s.turn_providers:
        found += _too_short(
            provider.secret,
            MIN_TURN_SECRET,
            "--turn-providers",
            f"the secret of {provider.name!r}: anyone holding one of its credentials can "
            "guess it offline (openssl rand -hex 32 makes a good one)",
        )
    found += _too_short(
        s.secret,
        MIN_TOKEN_SECRET,
        "--secret",
        "session tokens could be forged (leave it unset to have one generated and kept in "
        "the database)",
    )
    return found


def _too_short(secret: SecretStr | None, minimum: int, option: str, risk: str) -> list[Finding]:
    """An error if a secret that is set is shorter than ``minimum`` characters."""
    if secret is None or len(secret.get_secret_value()) >= minimum:
        return []
    return [Finding("error", option, f"shorter than {minimum} characters: {risk}")]


def _local(s: Settings) -> list[Finding]:
    if _loopback(s.host):
        return []
    return [
        Finding(
            "warning",
            "--host",
            f"profile local but listening on {s.host or 'every interface'}: other machines "
            "can reach the server; use --profile lan (with TLS) or --host 127.0.0.1",
        )
    ]


def _lan(s: Settings) -> list[Finding]:
    found = []
    if _loopback(s.host):
        found.append(
            Finding(
                "error",
                "--host",
                f"profile lan but listening on {s.host} only: no other device can reach it; "
                "use --host 0.0.0.0",
            )
        )
    if not s.https_public:
        found.append(
            Finding(
                "warning",
                "--self-signed",
                "no TLS: phones and other computers get no secure context over http (no "
                "WebCrypto, no offline storage), so file transfer and end-to-end checks "
                "fail there; use --self-signed or --tls-cert/--tls-key",
            )
        )
    return found


def _internet(s: Settings) -> list[Finding]:
    found = []
    public = (s.public_url or "").lower()
    if not public.startswith("https://"):
        found.append(
            Finding(
                "error",
                "--public-url",
                "profile internet needs the https URL people use (invite links and QR "
                "codes carry it; it also makes cookies Secure and turns on HSTS)",
            )
        )
    if s.self_signed:
        found.append(
            Finding(
                "error",
                "--self-signed",
                "browsers warn about a self-signed certificate on the Internet and people "
                "learn to click through: use a real certificate (at the proxy or --tls-cert)",
            )
        )
    trust = s.proxy_trust
    if s.tls_cert is None and not trust.hops and not trust.networks:
        found.append(
            Finding(
                "error",
                "--trusted-proxies",
                "TLS is not served by peerlane, so a proxy is in front, but no proxy is "
                "trusted: every client counts as the proxy's address and one abuser "
                "exhausts the per-address limits for all (--trusted-proxies or "
                "--trusted-proxy-hops)",
            )
        )
    if _all_interfaces(s.host) and s.tls_cert is None:
        found.append(
            Finding(
                "warning",
                "--host",
                "behind a proxy, listen on 127.0.0.1 (or the proxy's network) only, so "
                "nobody bypasses the proxy",
            )
        )
    if not s.turn and not s.turn_urls:  # URLs without a secret: an error above
        found.append(
            Finding(
                "warning",
                "--turn-urls",
                "no TURN server: peers behind strict NATs cannot connect directly and their "
                "transfers go through this server (see docs/deployment.md, coturn)",
            )
        )
    if s.storage_quota_bytes is None and s.share_quota_bytes > 4 * 1024**3:
        found.append(
            Finding(
                "warning",
                "--share-quota-bytes",
                "anyone can create a share: a share quota above 4 GiB lets strangers fill "
                "the disk; set --storage-quota-bytes too",
            )
        )
    if s.retention_max_age is None and s.retention_max_messages is None:
        found.append(
            Finding(
                "warning",
                "--retention-max-age",
                "messages are kept forever: the database only grows",
            )
        )
    return found

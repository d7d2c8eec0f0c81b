"""``peerlane turn-config``: a coturn configuration that matches this server's TURN settings.

The secret and realm are the server's, so the credentials in ``welcome`` work on it. The
denied peer ranges keep a public relay from reaching into the networks behind it: private
and shared address space, loopback, link-local (which holds the cloud metadata address
169.254.169.254), and the documentation, benchmarking, multicast and reserved ranges.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from peerlane.config import Settings
from peerlane.core.turn import TurnProvider

# Peers a relay must never reach (RFC 6890 special-purpose blocks and more).
DENIED_PEERS = (
    "0.0.0.0/8",  # "this" network
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # carrier-grade NAT shared space
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local, with 169.254.169.254 (cloud instance metadata)
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation
    "192.88.99.0/24",  # 6to4 relay anycast
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation
    "203.0.113.0/24",  # documentation
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the broadcast address
    "::/128",  # unspecified
    "::1/128",  # loopback
    "::ffff:0:0/96",  # IPv4-mapped: would reach the IPv4 ranges above
    "64:ff9b::/96",  # NAT64: the same
    "100::/64",  # discard
    "2001:db8::/32",  # documentation
    "fc00::/7",  # unique local (private)
    "fe80::/10",  # link-local
    "ff00::/8",  # multicast
)


def coturn_range(network: str) -> str:
    """coturn takes ``first-last`` ranges, not CIDR."""
    net = ipaddress.ip_network(network)
    if net.num_addresses == 1:
        return str(net.network_address)
    return f"{net.network_address}-{net.broadcast_address}"


@dataclass(frozen=True)
class CoturnOptions:
    realm: str | None = None  # default: the host of the provider's first URL
    listening_ip: str | None = None
    relay_ip: str | None = None
    external_ip: str | None = None  # the public address, behind 1:1 NAT (clouds)
    port: int = 3478
    tls_port: int = 5349
    cert: Path | None = None  # TLS certificate chain and key (TURN over TLS, turns:)
    pkey: Path | None = None
    min_port: int = 49152
    max_port: int = 65535
    user_quota: int = 12  # concurrent allocations per username (one peer)
    total_quota: int = 1200
    max_bps: int = 0  # bytes per second per allocation (0: no limit)
    bps_capacity: int = 0  # bytes per second of the whole server (0: no limit)


class TurnConfigError(ValueError):
    pass


def pick_provider(settings: Settings, name: str | None) -> TurnProvider:
    """The provider the configuration is for: ``name``, else the only one with a secret."""
    with_secret = [p for p in settings.turn if p.secret is not None]
    if name is not None:
        for provider in with_secret:
            if provider.name == name:
                return provider
        raise TurnConfigError(f"no TURN provider named {name!r} with a secret is configured")
    if len(with_secret) == 1:
        return with_secret[0]
    if not with_secret:
        raise TurnConfigError(
            "no TURN secret is configured: set --turn-secret and --turn-urls (or a provider "
            "with a secret in --turn-providers) first, so coturn and peerlane share it"
        )
    names = ", ".join(p.name for p in with_secret)
    raise TurnConfigError(f"several TURN providers have a secret ({names}): pick one by name")


def default_realm(provider: TurnProvider) -> str:
    host = urlsplit("turn://" + provider.urls[0].split(":", 1)[1].split("?")[0]).hostname
    return host or "peerlane"


def render(provider: TurnProvider, options: CoturnOptions) -> str:
    assert provider.secret is not None  # pick_provider's rule
    o = options
    tls = o.cert is not None and o.pkey is not None
    lines = [
        "# coturn configuration made by `peerlane turn-config` for the TURN provider "
        f"{provider.name!r}.",
        "# Keep it private: it holds the shared secret.",
        f"listening-port={o.port}",
    ]
    if o.listening_ip:
        lines.append(f"listening-ip={o.listening_ip}")
    if o.relay_ip:
        lines.append(f"relay-ip={o.relay_ip}")
    if o.external_ip:
        lines.append(f"external-ip={o.external_ip}")
    lines += [
        f"min-port={o.min_port}",
        f"max-port={o.max_port}",
        "",
        "# peerlane's time-limited credentials (TURN REST: <expiry>:<participant>).",
        "use-auth-secret",
        f"static-auth-secret={provider.secret.get_secret_value()}",
        f"realm={o.realm or default_realm(provider)}",
        "fingerprint",
        "stale-nonce=600",
        "",
        "# Quotas and bandwidth (bytes per second; 0 = no limit).",
        f"user-quota={o.user_quota}",
        f"total-quota={o.total_quota}",
        f"max-bps={o.max_bps}",
        f"bps-capacity={o.bps_capacity}",
        "",
    ]
    if tls:
        lines += [
            "# TURN over TLS (turns:), for networks that only let HTTPS-like traffic out.",
            f"tls-listening-port={o.tls_port}",
            f"cert={o.cert}",
            f"pkey={o.pkey}",
            "no-tlsv1",
            "no-tlsv1_1",
            "no-dtls",
        ]
    else:
        lines += ["# No certificate given: no TURN over TLS.", "no-tls", "no-dtls"]
    lines += [
        "",
        "# A public relay must never reach into private networks, loopback or the",
        "# cloud metadata address (169.254.169.254).",
        "no-multicast-peers",
        *(f"denied-peer-ip={coturn_range(net)}" for net in DENIED_PEERS),
        "",
        "no-cli",
        "no-software-attribute",
        "log-file=stdout",
        "simple-log",
    ]
    return "\n".join(lines) + "\n"

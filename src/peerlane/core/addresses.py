"""Client addresses behind proxies, and the key a rate limit counts them under (sans-I/O).

``X-Forwarded-For`` is a list every proxy appends to: ``client-chosen…, seen-by-1st,
seen-by-2nd``. Only the entries the operator's own proxies appended can be believed, so
the client is read from the right: ``hops`` proxies in front means the ``hops``-th entry
from the right (what the outermost proxy saw); a list of proxy networks means the
right-most entry that is not one of them. The left-most entry is whatever the client
wrote, and never trusted for that reason.

IPv6 clients usually hold a whole /64 (SLAAC, privacy addresses), so a limit keyed by
the full address is one new address away from a full bucket: they are grouped by prefix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str) -> IPAddress | None:
    """An address from a header entry or a socket: ``1.2.3.4``, ``1.2.3.4:80``,
    ``2001:db8::1``, ``[2001:db8::1]:80``; IPv4-mapped IPv6 as IPv4. None if not one."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # IPv4 with a port
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def split_forwarded(values: Iterable[str]) -> list[str]:
    """The entries of every ``X-Forwarded-For`` header, in order (several headers are one list)."""
    return [entry.strip() for value in values for entry in value.split(",") if entry.strip()]


@dataclass(frozen=True, slots=True)
class ProxyTrust:
    """Which proxies in front of the server are believed: ``hops`` of them (whatever
    their addresses), or those in ``networks``. Neither: no proxy, the socket's peer is
    the client."""

    hops: int = 0
    networks: tuple[IPNetwork, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.hops > 0 or bool(self.networks)

    def trusts(self, address: IPAddress | None) -> bool:
        if self.hops > 0:
            return True  # the peer is the nearest of the configured hops
        return address is not None and any(address in net for net in self.networks)

    def resolve(self, peer: str, forwarded: Sequence[str]) -> tuple[str, int]:
        """The client's address and how many forwarded entries were believed (0: the peer
        itself). ``peer`` is the socket's peer; ``forwarded`` the X-Forwarded-For entries."""
        peer_ip = parse_ip(peer)
        if not self.enabled or not forwarded or not self.trusts(peer_ip):
            return peer, 0
        if self.hops > 0:
            # Each trusted proxy appended exactly one entry: the outermost one's is
            # ``hops`` from the right. Fewer entries than hops: all of them are the
            # proxies', and the left-most is the farthest any of them saw.
            index = max(0, len(forwarded) - self.hops)
            chosen = parse_ip(forwarded[index])
            if chosen is None:
                return peer, 0  # a trusted proxy wrote no address: keep the one we know
            return str(chosen), len(forwarded) - index
        client, used = peer, 0
        for entry in reversed(forwarded):
            address = parse_ip(entry)
            if address is None:
                break  # not an address: whoever wrote it is not a proxy we know
            client, used = str(address), used + 1
            if not self.trusts(address):
                break  # the first address that is not our proxy is the client
        return client, used


def limit_key(address: str, ipv6_prefix: int = 64) -> str:
    """The key per-IP limits count ``address`` under: an IPv4 address as is, an IPv6
    address as its ``/ipv6_prefix`` network; anything else (a Unix socket, a test
    client's name) unchanged."""
    ip = parse_ip(address)
    if ip is None:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ipv6_prefix < 128:
        return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))
    return str(ip)

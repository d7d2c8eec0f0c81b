"""Client addresses behind proxies: only the proxies' own X-Forwarded-For entries count."""

from __future__ import annotations

import ipaddress

import pytest

from peerlane.core.addresses import ProxyTrust, limit_key, parse_ip, split_forwarded

NO_PROXY = ProxyTrust()
ONE_HOP = ProxyTrust(hops=1)
TWO_HOPS = ProxyTrust(hops=2)
OUR_PROXIES = ProxyTrust(
    networks=(ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48"))
)


def test_without_a_trusted_proxy_the_header_is_ignored() -> None:
    assert NO_PROXY.resolve("192.0.2.1", ["203.0.113.7"]) == ("192.0.2.1", 0)


@pytest.mark.parametrize(
    ("trust", "peer", "header", "client"),
    [
        # One proxy appended what it saw; whatever the client wrote before it is ignored.
        (ONE_HOP, "10.0.0.2", "203.0.113.7, 198.51.100.9", "198.51.100.9"),
        (ONE_HOP, "10.0.0.2", "1.1.1.1, 2.2.2.2, 3.3.3.3, 198.51.100.9", "198.51.100.9"),
        (ONE_HOP, "10.0.0.2", "198.51.100.9", "198.51.100.9"),
        # Two proxies: the outermost one's entry is second from the right.
        (TWO_HOPS, "10.0.0.2", "203.0.113.7, 198.51.100.9, 10.0.0.3", "198.51.100.9"),
        # Fewer entries than hops: every entry is a proxy's; the farthest wins.
        (TWO_HOPS, "10.0.0.2", "198.51.100.9", "198.51.100.9"),
        # A port, brackets, IPv4-mapped IPv6.
        (ONE_HOP, "10.0.0.2", "198.51.100.9:5555", "198.51.100.9"),
        (ONE_HOP, "10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
        (ONE_HOP, "10.0.0.2", "::ffff:198.51.100.9", "198.51.100.9"),
        # A trusted proxy wrote no address: keep the peer.
        (ONE_HOP, "10.0.0.2", "203.0.113.7, unknown", "10.0.0.2"),
        # Listed proxies: the right-most entry outside them.
        (OUR_PROXIES, "10.0.0.2", "203.0.113.7, 198.51.100.9, 10.1.2.3", "198.51.100.9"),
        (OUR_PROXIES, "10.0.0.2", "203.0.113.7, 198.51.100.9", "198.51.100.9"),
        (OUR_PROXIES, "2001:db8:ffff::5", "203.0.113.7, 2001:db8:1::9", "2001:db8:1::9"),
        # A peer that is not our proxy: its header is the client's own words.
        (OUR_PROXIES, "192.0.2.1", "203.0.113.7", "192.0.2.1"),
        # Garbage before the proxies' entries stops the walk at the last real address.
        (OUR_PROXIES, "10.0.0.2", "nonsense, 10.1.2.3", "10.1.2.3"),
        # Every entry is one of our proxies: the farthest of them is the best we know.
        (OUR_PROXIES, "10.0.0.2", "10.9.9.9, 10.1.2.3", "10.9.9.9"),
    ],
)
def test_the_client_is_what_the_trusted_proxies_saw(
    trust: ProxyTrust, peer: str, header: str, client: str
) -> None:
    assert trust.resolve(peer, split_forwarded([header]))[0] == client


def test_a_spoofed_left_most_entry_never_becomes_the_client() -> None:
    seen = {
        ONE_HOP.resolve("10.0.0.2", split_forwarded([f"203.0.113.{i}, 198.51.100.9"]))[0]
        for i in range(50)
    }
    assert seen == {"198.51.100.9"}


def test_several_headers_are_one_list() -> None:
    entries = split_forwarded(["203.0.113.7", "198.51.100.9, 10.0.0.3"])
    assert entries == ["203.0.113.7", "198.51.100.9", "10.0.0.3"]
    assert TWO_HOPS.resolve("10.0.0.2", entries)[0] == "198.51.100.9"


def test_ipv6_clients_are_grouped_by_prefix() -> None:
    assert limit_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:2:bbbb::7") == limit_key("2001:db8:1:2:aaaa::1")
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("2001:db8:1:2:aaaa::1", 48) == "2001:db8:1::/48"
    assert limit_key("2001:db8::1", 128) == "2001:db8::1"
    assert limit_key("198.51.100.9") == "198.51.100.9"
    assert limit_key("::ffff:198.51.100.9") == "198.51.100.9"
    assert limit_key("testclient") == "testclient"


def test_parse_ip_refuses_non_addresses() -> None:
    for text in ("", "unknown", "_hidden", "1.2.3", "[::1", "example.org:80"):
        assert parse_ip(text) is None

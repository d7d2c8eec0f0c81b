"""How the terminal peer sets up aiortc: which ICE servers, which host addresses.

* ICE servers: exactly the ones the server hands out in ``welcome`` (STUN, and TURN with
  its time-limited credentials). When there are none, an explicit empty list: given
  ``None``, aiortc adds a public STUN server of its own, and peerlane must never contact
  a third party by default (a LAN without internet, privacy).
* Host candidates: by default every address of every interface but loopback (aioice's
  choice). ``--address`` narrows them to the named interfaces or addresses (multi-homed
  machines, tests); loopback only when named. aioice has no option for it, so its
  address lookup is replaced for this process (one peer per CLI process).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import aioice.ice
import ifaddr
from aiortc import RTCConfiguration, RTCIceServer

from peerlane.core.protocol import IceServer
from peerlane.peer import EXIT_USAGE, PeerError


def rtc_configuration(ice_servers: Sequence[IceServer]) -> RTCConfiguration:
    servers = [
        RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
        for s in ice_servers
    ]
    return RTCConfiguration(iceServers=servers)  # [] when none: no default public STUN


def interface_addresses() -> dict[str, list[str]]:
    """Interface name → its addresses (IPv6 link-local ones left out, as aioice does)."""
    found: dict[str, list[str]] = {}
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                found.setdefault(adapter.nice_name, []).append(ip.ip)
            elif ip.ip[2] == 0:  # no scope id: not link-local
                found.setdefault(adapter.nice_name, []).append(ip.ip[0])
    return found


def host_addresses(choices: Sequence[str]) -> list[str]:
    """The addresses ``--address`` names: interface names or addresses of this machine."""
    interfaces = interface_addresses()
    mine = {address for addresses in interfaces.values() for address in addresses}
    chosen: list[str] = []
    for choice in choices:
        if choice in interfaces:
            chosen += interfaces[choice]
            continue
        try:
            address = str(ipaddress.ip_address(choice))
        except ValueError:
            address = ""
        if address not in mine:
            names = ", ".join(sorted(interfaces))
            raise PeerError(
                f"{choice!r} is neither an interface nor an address of this machine; "
                f"the interfaces are: {names}.",
                EXIT_USAGE,
            )
        chosen.append(address)
    return list(dict.fromkeys(chosen))


@contextmanager
def only_host_addresses(addresses: Sequence[str]) -> Iterator[None]:
    """While inside, ICE gathers host candidates on exactly ``addresses``."""
    fixed = list(addresses)

    def chosen(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        wanted = {4} if use_ipv4 else set()
        wanted |= {6} if use_ipv6 else set()
        return [a for a in fixed if ipaddress.ip_address(a).version in wanted]

    before = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = chosen
    try:
        yield
    finally:
        aioice.ice.get_host_addresses = before

"""Small networks made of Linux network namespaces, for the connectivity matrix (issue #11).

The picture (addresses are the lab's own, inside namespaces it creates and removes):

    peer ns ──veth── router ns (NAT, filter) ──veth──┐
    peer ns ──veth──┘  (a LAN bridge per site)       ├── wan ns: bridge 198.18.0.254/24
                                                     │   (the "internet"; forwards nothing)
    public ns 198.18.0.1 (peerlane server, coturn) ──┘

* The "public" namespace's default route points at the wan namespace, which forwards
  nothing: what cannot be delivered is dropped silently, as on the internet. (Without it a
  relayed check toward a private address fails with ENETUNREACH and coturn stops sending
  from that relay socket: a lab failure that looks like a product one.)
* Each router masquerades its LAN behind its wan address. ``random`` NAT maps every new
  destination to a fresh random port (a symmetric NAT); otherwise Linux keeps the source
  port (endpoint-independent mapping). A router never lets an unsolicited packet in: it is
  dropped before conntrack confirms an entry for it, so it cannot steal the port a peer's
  own later mapping needs.
* ``block_udp`` / ``block_turn`` drop, at the router, the peers' UDP / their traffic to
  the TURN ports (3478, and 5349 for TLS), so ICE must use TURN over TCP or give up (the
  server relay); ``block_plain_turn`` drops 3478 only, so TURN over TLS is what is left.
* ``hairpin`` builds what a hairpinning home router does, for peers that cannot reach each
  other on the LAN (the bridge isolates its ports, like a Wi-Fi access point's client
  isolation): every UDP mapping the router makes toward the wan is learned into a map
  (public port → inside address and port, read after the masquerade from conntrack's
  original tuple); a LAN packet to the router's own public address and a learned port is
  DNATed to that inside address, and SNATed to the public address, so the other peer sees
  it come from the sender's public mapping, as it would from the internet. Plain
  masquerade does none of this: without it the peers meet only through TURN.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass, field

PUBLIC_ADDRESS = "198.18.0.1"
# A second address of the public namespace (a second TURN provider's).
SECOND_PUBLIC_ADDRESS = "198.18.0.2"
WAN_GATEWAY = "198.18.0.254"
TURN_PORT = 3478
TURN_TLS_PORT = 5349  # coturn's TURN over TLS (turns:)


def run(*cmd: str, stdin: str | None = None) -> str:
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return done.stdout


def can_build_namespaces() -> str | None:
    """None when this process can build the lab; else why not, in one line."""
    if os.geteuid() != 0:
        return "needs root (ip netns, nftables)"
    for tool in ("/usr/sbin/ip", "/usr/sbin/nft", "/usr/bin/turnserver", "/usr/bin/chromium"):
        if not os.path.exists(tool):
            return f"{tool} is missing (make system-deps)"
    probe = f"plprobe{secrets.token_hex(3)}"
    try:
        run("ip", "netns", "add", probe)
    except RuntimeError as exc:
        return f"cannot create a network namespace ({exc})"
    run("ip", "netns", "del", probe)
    return None


@dataclass
class Site:
    """A router namespace with a LAN bridge, and the peer namespaces on that LAN."""

    index: int
    router: str
    wan_address: str
    peers: list[str] = field(default_factory=list)

    @property
    def lan_prefix(self) -> str:
        return f"10.{60 + self.index}.0"


class Lab:
    """Namespaces named ``<tag>-…``; ``close()`` removes every one of them."""

    def __init__(self) -> None:
        self.tag = f"pl{secrets.token_hex(3)}"
        self.namespaces: list[str] = []
        self.wan = self._namespace("wan")
        run("ip", "-n", self.wan, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.wan, "addr", "add", f"{WAN_GATEWAY}/24", "dev", "br0")
        run("ip", "-n", self.wan, "link", "set", "br0", "up")
        # The "internet" forwards nothing and answers nothing: a silent drop.
        run("ip", "netns", "exec", self.wan, "sysctl", "-qw", "net.ipv4.ip_forward=0")
        _bridge_without_netfilter(self.wan)
        run("ip", "netns", "exec", self.wan, "nft", "-f", "-", stdin=_WAN_RULES)
        self.public = self._namespace("pub")
        self._plug_into_wan(self.public, PUBLIC_ADDRESS)
        self.sites: list[Site] = []

    def add_public_address(self, address: str) -> None:
        run("ip", "-n", self.public, "addr", "add", f"{address}/24", "dev", "wan0")

    def _namespace(self, role: str) -> str:
        name = f"{self.tag}-{role}"
        run("ip", "netns", "add", name)
        self.namespaces.append(name)
        run("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def _veth(self, a_ns: str, a_if: str, b_ns: str, b_if: str) -> None:
        # Made inside a_ns (no name clash with the host's links), one end moved to b_ns.
        run("ip", "-n", a_ns, "link", "add", a_if, "type", "veth", "peer", "name", b_if)
        run("ip", "-n", a_ns, "link", "set", b_if, "netns", b_ns)
        run("ip", "-n", a_ns, "link", "set", a_if, "up")
        run("ip", "-n", b_ns, "link", "set", b_if, "up")

    def _plug_into_wan(self, ns: str, address: str) -> None:
        port = f"w{len(self.namespaces)}"
        self._veth(ns, "wan0", self.wan, port)
        run("ip", "-n", self.wan, "link", "set", port, "master", "br0")
        run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "wan0")
        run("ip", "-n", ns, "route", "add", "default", "via", WAN_GATEWAY)

    def site(
        self,
        peers: int,
        *,
        random_ports: bool = False,
        block_udp: bool = False,
        block_turn: bool = False,
        block_plain_turn: bool = False,
        hairpin: bool = False,
    ) -> Site:
        """A NAT router and ``peers`` peer namespaces on its LAN (``hairpin``: the LAN's
        ports isolated from each other and the router loops its public address back in)."""
        index = len(self.sites) + 1
        site = Site(index, self._namespace(f"r{index}"), f"198.18.0.{10 + index}")
        self._plug_into_wan(site.router, site.wan_address)
        lan = site.lan_prefix
        run("ip", "-n", site.router, "link", "add", "lan0", "type", "bridge")
        run("ip", "-n", site.router, "addr", "add", f"{lan}.1/24", "dev", "lan0")
        run("ip", "-n", site.router, "link", "set", "lan0", "up")
        run("ip", "netns", "exec", site.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        _bridge_without_netfilter(site.router)
        run(
            "ip", "netns", "exec", site.router, "nft", "-f", "-",
            stdin=_router_rules(random_ports, block_udp, block_turn, block_plain_turn),
        )  # fmt: skip
        if hairpin:
            # The looped packet leaves by the interface it came in on: no ICMP redirect
            # may tell the sender to go around the router (it would bypass the NAT).
            for key in ("all", "lan0"):
                run("ip", "netns", "exec", site.router, "sysctl", "-qw",
                    f"net.ipv4.conf.{key}.send_redirects=0")  # fmt: skip
            run("ip", "netns", "exec", site.router, "nft", "-f", "-",
                stdin=_hairpin_rules(site.wan_address))  # fmt: skip
        for n in range(peers):
            ns = self._namespace(f"s{index}p{n}")
            self._veth(site.router, f"l{n}", ns, "eth0")
            run("ip", "-n", site.router, "link", "set", f"l{n}", "master", "lan0")
            if hairpin:  # peer to peer on the LAN is cut: only the router joins them
                run("bridge", "-n", site.router, "link", "set", "dev", f"l{n}", "isolated", "on")
            run("ip", "-n", ns, "addr", "add", f"{lan}.{11 + n}/24", "dev", "eth0")
            run("ip", "-n", ns, "route", "add", "default", "via", f"{lan}.1")
            site.peers.append(ns)
        self.sites.append(site)
        return site

    def block_udp_now(self, site: Site) -> None:
        """The router starts dropping its peers' UDP, mid-connection (established flows too).
        The rule lives in a table of its own, so that ``lift_now`` can take it away."""
        rules = f"""
table ip breaks {{
  chain forward {{
    type filter hook forward priority -1; policy accept;
    {_UDP_FROM_LAN} drop
  }}
}}
"""
        run("ip", "netns", "exec", site.router, "nft", "-f", "-", stdin=rules)

    def lift_now(self, site: Site) -> None:
        """The rules ``block_udp_now`` added are gone: the network is as it was."""
        run("ip", "netns", "exec", site.router, "nft", "delete", "table", "ip", "breaks")

    def block_relay_paths(self, site: Site) -> None:
        """Drop the peers' UDP and their TURN traffic (as the ``block_udp``/``block_turn``
        site options do, liftable): only the peerlane server is left between them."""
        rules = f"""
table ip breaks {{
  chain forward {{
    type filter hook forward priority -1; policy accept;
    {_UDP_FROM_LAN} drop
    iifname "lan0" ip daddr {PUBLIC_ADDRESS} tcp dport {{ {TURN_PORT}, {TURN_TLS_PORT} }} drop
  }}
}}
"""
        run("ip", "netns", "exec", site.router, "nft", "-f", "-", stdin=rules)

    def limit_rate(
        self, namespace: str, rate: str, device: str = "eth0", latency: str = "400ms"
    ) -> None:
        """Shape what a namespace sends on ``device`` (tc tbf) so that a transfer lasts a
        while (a peer's ``eth0``; the public namespace's ``wan0``: the server's downloads).
        ``latency`` bounds the queue (rate times latency): what is in flight when a peer dies."""
        run(
            "ip", "netns", "exec", namespace, "tc", "qdisc", "add", "dev", device, "root",
            "tbf", "rate", rate, "burst", "32kbit", "latency", latency,
        )  # fmt: skip

    def close(self) -> None:
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self.namespaces.clear()


def _bridge_without_netfilter(ns: str) -> None:
    """Frames switched by a bridge stay out of the IP hooks. Where br_netfilter is loaded
    (container tools load it) bridged packets would otherwise meet the forward chain:
    the wan's "drop everything routed" would drop the switched traffic too."""
    for family in ("iptables", "ip6tables", "arptables"):
        key = f"/proc/sys/net/bridge/bridge-nf-call-{family}"
        if os.path.exists(key):  # the sysctl is per namespace; set it inside ns
            run("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.bridge.bridge-nf-call-{family}=0")


_UDP_FROM_LAN = 'iifname "lan0" meta l4proto udp'

_WAN_RULES = """
table inet wan {
  chain forward { type filter hook forward priority 0; policy drop; }
}
"""


def _router_rules(
    random_ports: bool, block_udp: bool, block_turn: bool, block_plain_turn: bool = False
) -> str:
    nat = "masquerade random,fully-random" if random_ports else "masquerade"
    blocks = []
    if block_udp:
        blocks.append(f"{_UDP_FROM_LAN} drop")
    if block_turn or block_plain_turn:
        # Plain TURN's port; with block_turn TLS's too (block_plain_turn: TLS still passes,
        # as through a firewall that lets only TLS-looking traffic out).
        tcp = f"{{ {TURN_PORT}, {TURN_TLS_PORT} }}" if block_turn else str(TURN_PORT)
        blocks.append(f'iifname "lan0" ip daddr {PUBLIC_ADDRESS} tcp dport {tcp} drop')
        blocks.append(f'iifname "lan0" ip daddr {PUBLIC_ADDRESS} udp dport {TURN_PORT} drop')
    forward = "\n    ".join(blocks)
    return f"""
table ip lab {{
  chain input {{
    type filter hook input priority 0; policy accept;
    # Unsolicited from the wan: dropped before conntrack confirms an entry for it.
    iifname "wan0" ct state new drop
  }}
  chain forward {{
    type filter hook forward priority 0; policy accept;
    {forward}
    iifname "wan0" ct state new drop
  }}
  chain postrouting {{
    type nat hook postrouting priority 100; policy accept;
    oifname "wan0" {nat}
  }}
}}
"""


# A mapping: its public port → the inside address and port it stands for.
_MAPPING = "udp sport : ct original ip saddr . ct original proto-src"


def _hairpin_rules(public: str) -> str:
    """NAT loopback, per mapping (see the module's docstring)."""
    return f"""
table ip hairpin {{
  map mappings {{
    type inet_service : ipv4_addr . inet_service
    flags dynamic, timeout
    timeout 10m
  }}
  chain learn {{
    # After the masquerade (srcnat is 100): the packet carries its public port now.
    type filter hook postrouting priority 300; policy accept;
    oifname "wan0" meta l4proto udp update @mappings {{ {_MAPPING} }}
  }}
  chain prerouting {{
    type nat hook prerouting priority -100; policy accept;
    iifname "lan0" ip daddr {public} meta l4proto udp dnat ip to udp dport map @mappings
  }}
  chain postrouting {{
    type nat hook postrouting priority 100; policy accept;
    iifname "lan0" oifname "lan0" ct status dnat snat ip to {public}
  }}
}}
"""

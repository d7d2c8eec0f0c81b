"""``peerlane send`` / ``peerlane receive`` behind nginx (deploy/nginx/peerlane-lb.conf) in
front of two instances on shared PostgreSQL, Redis and files directory (issue #14): the
two terminals' room sockets on different instances (nginx's access log names the
instance that took each socket), the offer, answer and candidates relayed between them
through Redis, the file over the peer-to-peer data channel, checked by its hash.

Marked ``browser`` like tests/e2e/test_cli_transfer.py: the data channel needs the test
network namespace (scripts/netns-run), where ICE sees one host address."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from balancer import Cluster
from e2e.cli_peers import DATA_CHANNEL, Cli, receive, send
from e2e.helpers import random_file, sha256_file

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
ROOM_SOCKET = r"^/api/rooms/[^/]+/ws"


def test_send_and_receive_on_different_instances_behind_nginx(
    cluster_of: Callable[..., Cluster], tmp_path: Path, clis: list[Cli]
) -> None:
    cluster = cluster_of(2)
    lb = cluster.nginx
    # nginx deals requests round-robin and each command makes a fixed number of them,
    # so a pair lands the same way every time unless the gap between the two sockets
    # changes: each attempt puts one more request between the sender's socket and the
    # receiver's (a request before the pair moves both alike). The sender's own requests
    # while the receiver joins (the owner's keys fetch on its `keys` frame) race the
    # receiver's, so a gap is not always the same: up to sixteen tries.
    with httpx.Client(base_url=lb.base) as nudge:
        for attempt in range(16):
            path = tmp_path / f"across{attempt}.bin"
            digest, _ = random_file(path, 2 * 1024 * 1024 + attempt)
            sockets_before = len(lb.upstream_ports(ROOM_SOCKET))
            sender = send(clis, tmp_path, lb, path, **DATA_CHANNEL)  # type: ignore[arg-type]
            link = sender.wait_for(r"Link: (\S+)").group(1)
            assert link.startswith(lb.base), link  # the invite points at the balancer
            for _ in range(attempt):
                nudge.get("/healthz")
            out = tmp_path / f"got{attempt}"
            receiver = receive(clis, tmp_path, link, out)
            assert receiver.finish() == 0, receiver.describe()
            assert sender.finish() == 0, sender.describe()
            assert sha256_file(out / path.name) == digest
            assert "via peer to peer" in receiver.output
            # The pair's room sockets, in order: the sender's, then the receiver's.
            ports = lb.upstream_ports(ROOM_SOCKET)[sockets_before:]
            assert len(ports) >= 2, ports
            if len(set(ports)) > 1:  # the signaling crossed instances
                assert {i.port for i in cluster.instances} == set(ports)
                return
    raise AssertionError("the sender and the receiver never landed on different instances")

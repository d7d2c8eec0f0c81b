"""``peerlane send`` / ``peerlane receive`` behind nginx (deploy/nginx/peerlane-lb.conf) in
front of two instances on shared PostgreSQL, Redis and files directory (issue #14): the
two terminals' room sockets on different instances (each through its own nginx over one
instance; each nginx's access log names the instance that took its socket), the offer,
answer and candidates relayed between them through Redis, the file over the peer-to-peer
data channel, checked by its hash.

Marked ``browser`` like tests/e2e/test_cli_transfer.py: the data channel needs the test
network namespace (scripts/netns-run), where ICE sees one host address."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from balancer import Cluster, Nginx
from e2e.cli_peers import DATA_CHANNEL, Cli, receive, send
from e2e.helpers import random_file, sha256_file

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
ROOM_SOCKET = r"^/api/rooms/[^/]+/ws"


def test_send_and_receive_on_different_instances_behind_nginx(
    cluster_of: Callable[..., Cluster], tmp_path: Path, clis: list[Cli]
) -> None:
    cluster = cluster_of(2)
    first, second = cluster.instances
    # Each terminal through an nginx of its own (the site configuration operators use),
    # each over one instance: the two sockets are on different instances every time. (One
    # nginx over both deals requests round robin, and where a pair falls then hangs on the
    # timing of the sender's background requests against the receiver's: tried 16 times
    # in a row, it once never crossed.)
    lb_a, lb_b = Nginx([first]).start(), Nginx([second]).start()
    try:
        path = tmp_path / "across.bin"
        digest, _ = random_file(path, 2 * 1024 * 1024 + 1)
        sender = send(clis, tmp_path, lb_a, path, **DATA_CHANNEL)  # type: ignore[arg-type]
        link = sender.wait_for(r"Link: (\S+)").group(1)
        assert link.startswith(lb_a.base), link  # the invite points at the balancer
        out = tmp_path / "got"
        receiver = receive(clis, tmp_path, lb_b.base + link[len(lb_a.base) :], out)
        assert receiver.finish() == 0, receiver.describe()
        assert sender.finish() == 0, sender.describe()
        assert sha256_file(out / path.name) == digest
        assert "via peer to peer" in receiver.output
        # Each balancer's access log: the room socket it took went to its instance.
        assert set(lb_a.upstream_ports(ROOM_SOCKET)) == {first.port}
        assert set(lb_b.upstream_ports(ROOM_SOCKET)) == {second.port}
    finally:
        lb_a.stop()
        lb_b.stop()

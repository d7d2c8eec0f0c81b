"""The PeerJS endpoint on two server processes sharing Redis: one service.

Peers on different instances reach each other, a frame for a peer that has not
connected waits in the shared queue whichever instance it connects to, an id held on
one instance is taken on the other, a reconnect on the other instance takes the id
over, and the concurrent limit and per-IP limits count both instances.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import services
from peerjs_client import PeerjsClient
from support import ServerProcess


@pytest.fixture
def instances(tmp_path: Path, redis_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {
        "PEERLANE_REDIS_URL": redis_url,
        "PEERLANE_PEERJS_CONCURRENT_LIMIT": "3",
        "PEERLANE_PEERJS_EXPIRE_TIMEOUT": "0.5",
        "PEERLANE_PEERJS_CLEANUP_OUT_MSGS": "0.1",
    }
    one = ServerProcess(tmp_path / "one", env=env).start()
    two = ServerProcess(tmp_path / "two", env=env).start()
    yield one, two
    one.stop()
    two.stop()


def ws(server: ServerProcess) -> str:
    return f"ws://127.0.0.1:{server.port}"


def test_peerjs_across_instances(instances: tuple[ServerProcess, ServerProcess]) -> None:
    one, two = instances
    made: list[PeerjsClient] = []

    def peer(server: ServerProcess, peer_id: str, token: str = "t") -> PeerjsClient:
        client = PeerjsClient(ws(server), peer_id, token)
        made.append(client)
        return client

    try:
        alice = peer(one, "alice")
        alice.expect("OPEN")
        # Queued on instance one for bob, who connects to instance two.
        alice.signal("OFFER", "bob", n=1)
        bob = peer(two, "bob")
        bob.expect("OPEN")
        offer = bob.expect("OFFER")
        assert (offer["src"], offer["payload"]) == ("alice", {"n": 1})
        bob.signal("ANSWER", "alice", n=2)
        assert alice.expect("ANSWER")["src"] == "bob"
        for n in range(3, 23):  # one sender, one path: in order
            alice.signal("CANDIDATE", "bob", n=n)
        assert [bob.expect("CANDIDATE")["payload"]["n"] for _ in range(20)] == list(range(3, 23))

        # An id held on one instance is taken on the other.
        thief = peer(two, "alice", token="other")
        thief.expect("ID-TAKEN")
        # A reconnect with the same token on the other instance takes the id over.
        alice_again = peer(two, "alice")
        alice_again.expect("OPEN")
        assert alice.closed() == 1000
        bob.signal("CANDIDATE", "alice", n=99)
        assert alice_again.expect("CANDIDATE")["payload"] == {"n": 99}

        # The concurrent limit (3) counts both instances: alice, bob and carol.
        carol = peer(one, "carol")
        carol.expect("OPEN")
        dave = peer(two, "dave")
        assert dave.expect("ERROR")["payload"]["msg"].endswith("concurrent user limit")

        # A queue that nobody claims expires once, to its sender on the other instance.
        carol.signal("OFFER", "ghost", n=1)
        expired = carol.expect("EXPIRE")
        assert (expired["src"], expired["dst"]) == ("ghost", "carol")
    finally:
        for client in made:
            client.close()


def test_without_redis_peerjs_clients_are_told_to_come_back(tmp_path: Path) -> None:
    with services.redis_server() as url:
        server = ServerProcess(tmp_path / "one", env={"PEERLANE_REDIS_URL": url}).start()
        alice = PeerjsClient(ws(server), "alice")
        alice.expect("OPEN")
    # Redis is gone: a frame that needs it gets ERROR and 1013 (try again), not a hang.
    try:
        alice.signal("OFFER", "bob", n=1)
        assert alice.expect("ERROR")["payload"]["msg"].startswith("Server is unavailable")
        assert alice.closed() == 1013
        bob = PeerjsClient(ws(server), "bob")
        assert bob.expect("ERROR")["payload"]["msg"].startswith("Server is unavailable")
        assert bob.closed() == 1013
    finally:
        server.kill()

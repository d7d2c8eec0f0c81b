"""Scale-out: two server processes sharing PostgreSQL and Redis act as one server.

A client may land on either instance (as behind a load balancer): presence, signaling
and chat cross instances, the per-room sequence stays gap-free under concurrent writers
on both, a client whose instance dies resumes on the other without gaps, and per-IP
rate limits count requests to both (so do the chat budgets of a flooder that switches).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from services import PgServer, create_database
from support import (
    Member,
    Peer,
    ServerProcess,
    assert_error,
    close_code,
    create_room,
    join,
    link_token,
)

pytestmark = pytest.mark.postgres


def shared_env(pg_server: PgServer, redis_url: str, **more: str) -> dict[str, str]:
    """A fresh database and the session's Redis, for instances that share them."""
    return {
        "PEERLANE_DATABASE_URL": create_database(pg_server),
        "PEERLANE_REDIS_URL": redis_url,
        **more,
    }


@contextlib.contextmanager
def two_servers(
    tmp_path: Path, env: dict[str, str]
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    one = ServerProcess(tmp_path / "one", env=env).start()
    try:
        two = ServerProcess(tmp_path / "two", env=env).start()
        try:
            yield one, two
        finally:
            two.stop()
    finally:
        one.stop()


@contextlib.contextmanager
def fresh_limits(redis_url: str) -> Iterator[None]:
    """No rate-limit state in Redis, before and after: other tests in this session share
    the Redis server."""
    limits = redis.Redis.from_url(redis_url)

    def forget_limits() -> None:
        for key in limits.scan_iter("peerlane:limit:*"):
            limits.delete(key)

    forget_limits()
    try:
        yield
    finally:
        forget_limits()


@pytest.fixture
def instances(
    tmp_path: Path, pg_server: PgServer, redis_url: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = shared_env(
        pg_server,
        redis_url,
        PEERLANE_MESSAGES_PER_SECOND="1000",
        PEERLANE_MESSAGE_BURST="1000",
        PEERLANE_PARTICIPANT_MESSAGES_PER_SECOND="1000",
        PEERLANE_PARTICIPANT_MESSAGE_BURST="1000",
        PEERLANE_IP_MESSAGES_PER_SECOND="1000",
        PEERLANE_IP_MESSAGE_BURST="1000",
    )
    with two_servers(tmp_path, env) as pair:
        yield pair


def test_presence_signaling_and_chat_cross_instances(
    instances: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = instances
    with httpx.Client(base_url=one.base) as h1, httpx.Client(base_url=two.base) as h2:
        alice = create_room(h1, "alice")
        bob = join(h2, "bob", token=link_token(alice))  # the invite works on instance two
    a, b = Peer(one, alice), Peer(two, bob)
    assert a.expect("presence", event="joined")["peer"]["peer_id"] == b.peer_id
    assert [p["peer_id"] for p in b.welcome["peers"]] == [a.peer_id]

    b.send({"type": "signal", "to": a.peer_id, "kind": "offer", "data": {"sdp": "v=0"}})
    assert a.expect("signal")["sender"] == b.peer_id

    ack = a.chat("m1", {"text": "hello"})
    message = b.expect("message", id="m1")
    assert message["seq"] == ack["seq"] == 1
    assert message["body"] == {"text": "hello"}
    b.close()
    assert a.expect("presence", event="left")["peer"]["peer_id"] == b.peer_id


def test_concurrent_writers_on_both_instances_get_one_gap_free_order(
    instances: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = instances
    with httpx.Client(base_url=one.base) as h1, httpx.Client(base_url=two.base) as h2:
        alice = create_room(h1, "alice")
        bob = join(h2, "bob", token=link_token(alice))
    a, b = Peer(one, alice), Peer(two, bob)
    count = 100
    for i in range(count):  # interleaved, so both instances write at the same time
        a.send({"type": "chat", "id": f"a{i}", "body": i})
        b.send({"type": "chat", "id": f"b{i}", "body": i})
    seen_a = [m["id"] for m in a.messages(2 * count)]
    seen_b = [m["id"] for m in b.messages(2 * count)]
    assert seen_a == seen_b  # the same order everywhere
    assert sorted(seen_a) == sorted(
        [f"a{i}" for i in range(count)] + [f"b{i}" for i in range(count)]
    )


def test_a_client_resumes_on_the_other_instance_when_its_instance_dies(
    instances: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = instances
    with httpx.Client(base_url=one.base) as h1:
        alice = create_room(h1, "alice")
        bob = join(h1, "bob", token=link_token(alice))
    a, b = Peer(one, alice), Peer(one, bob)
    a.chat("m1")
    last = b.expect("message", id="m1")["seq"]
    one.kill()
    a2 = Peer(two, alice)  # the load balancer sends them to the surviving instance
    for i in range(2, 5):
        a2.chat(f"m{i}")
    b2 = Peer(two, bob, last_seq=last)
    replayed = [m["id"] for m in b2.inbox if m["type"] == "message"]
    assert replayed == ["m2", "m3", "m4"]
    assert b2.synced["latest_seq"] == 4


def test_a_peer_id_resumed_on_the_other_instance_replaces_the_old_connection(
    instances: tuple[ServerProcess, ServerProcess],
) -> None:
    """alice's tab moves to instance two before instance one has seen her socket die: she
    keeps her peer id, the socket on one is closed with 4409, bob sees no "left", and
    presence lists her once; when she leaves, she is gone from presence for good."""
    one, two = instances
    with httpx.Client(base_url=one.base) as h1:
        alice = create_room(h1, "alice")
        bob = join(h1, "bob", token=link_token(alice))
    b = Peer(two, bob)
    old = Peer(one, alice)
    b.expect("presence", event="joined")
    new = Peer(two, alice, resume=old.welcome["resume"])
    assert new.peer_id == old.peer_id
    assert close_code(old.ws) == 4409
    assert b.expect("presence", event="joined")["peer"]["peer_id"] == new.peer_id
    b.assert_silent(0.5)  # no "left"
    for instance in (one, two):
        late = Peer(instance, bob)
        assert sorted(p["peer_id"] for p in late.welcome["peers"]) == sorted(
            [new.peer_id, b.peer_id]
        )
        late.close()
        b.expect("presence", event="left")  # the late one's
    new.close()
    assert b.expect("presence", event="left")["peer"]["peer_id"] == new.peer_id
    last = Peer(one, bob)
    assert [p["peer_id"] for p in last.welcome["peers"]] == [b.peer_id]


def test_rate_limits_hold_across_instances(
    tmp_path: Path, pg_server: PgServer, redis_url: str
) -> None:
    env = shared_env(pg_server, redis_url, PEERLANE_ROOMS_PER_HOUR="3")
    with (
        fresh_limits(redis_url),
        two_servers(tmp_path, env) as (one, two),
        httpx.Client(base_url=one.base) as h1,
        httpx.Client(base_url=two.base) as h2,
    ):
        for http in (h1, h2, h1):
            create_room(http)
        # A fourth room is refused on either instance, not only on the one that saw two
        # of the three.
        for http in (h2, h1):
            assert_error(http.post("/api/rooms", json={"display_name": "x"}), 429, "too_many_rooms")


async def flood_alternating(
    servers: tuple[ServerProcess, ServerProcess], room_id: str, member: Member
) -> tuple[int, list[int]]:
    """Chat frames as fast as the socket takes them, never waiting for answers; when
    the server closes the socket, reconnect at once, to the other instance."""
    sent, opened = 0, [0, 0]
    # At least 4 s, and until the flooder was closed and came back on both instances
    # (on a busy machine a close takes longer); never more than 30 s.
    start = time.monotonic()
    deadline = start + 30.0

    def flooding() -> bool:
        now = time.monotonic()
        return now < deadline and (now < start + 4.0 or min(opened) < 2)

    while flooding():
        which = sum(opened) % 2
        url = servers[which].ws_url(room_id) + "?v=1"
        with contextlib.suppress(ConnectionClosed):
            async with connect(url, additional_headers=member.auth, max_queue=None) as ws:
                opened[which] += 1
                closed = asyncio.ensure_future(ws.wait_closed())
                while flooding() and not closed.done():
                    await ws.send(json.dumps({"type": "chat", "id": f"f{sent}", "body": sent}))
                    sent += 1
                    if sent % 50 == 0:
                        await asyncio.sleep(0)  # let the socket read the server's replies
                closed.cancel()
    return sent, opened


def test_a_flooder_switching_instances_gets_one_budget(
    tmp_path: Path, pg_server: PgServer, redis_url: str
) -> None:
    # The participant's chat budget lives in Redis: a flooder closed on one instance
    # that reconnects to the other (as a balancer may send it) finds it as it left it.
    rate, burst = 2.0, 10.0
    env = shared_env(
        pg_server,
        redis_url,
        PEERLANE_PARTICIPANT_MESSAGES_PER_SECOND=str(rate),
        PEERLANE_PARTICIPANT_MESSAGE_BURST=str(burst),
        PEERLANE_PARTICIPANT_CONNECTS_PER_MINUTE="1000",
    )
    with fresh_limits(redis_url), two_servers(tmp_path, env) as (one, two):
        with httpx.Client(base_url=one.base) as h1, httpx.Client(base_url=two.base) as h2:
            owner = create_room(h1, "owner")
            flooder = join(h2, "flooder", token=link_token(owner))
            first = time.time()
            sent, opened = asyncio.run(flood_alternating((one, two), owner.room_id, flooder))
            last = time.time()
            r = h2.get(
                f"/api/rooms/{owner.room_id}/messages", params={"limit": 1}, headers=owner.auth
            )
            stored = r.json()["messages"][-1]["seq"]
        budget = burst + rate * (last - first)
        assert stored <= budget + 1, (stored, budget, sent, opened)
        assert min(opened) >= 2, opened  # closed and back, on both instances
        assert stored >= burst


def test_removal_and_sign_out_close_sockets_on_the_other_instance(
    instances: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = instances
    with httpx.Client(base_url=one.base) as h1, httpx.Client(base_url=two.base) as h2:
        alice = create_room(h1, "alice")
        bob = join(h2, "bob", token=link_token(alice))
        carol = join(h2, "carol", token=link_token(alice))
        bob_peer, carol_peer = Peer(two, bob), Peer(one, carol)

        # Removed on instance one, Bob's socket on instance two closes at once.
        r = h1.delete(
            f"/api/rooms/{alice.room_id}/participants/{bob.participant_id}", headers=alice.auth
        )
        assert r.status_code == 204, r.text
        assert bob_peer.expect("error")["error"]["code"] == "participant_removed"
        assert close_code(bob_peer.ws) == 4403
        assert_error(h2.get(f"/api/rooms/{alice.room_id}", headers=bob.auth), 401, "unauthorized")

        # Signed out on instance two, Carol's socket on instance one closes.
        r = h2.delete(f"/api/rooms/{alice.room_id}/session", headers=carol.auth)
        assert r.status_code == 204, r.text
        assert carol_peer.expect("error")["error"]["code"] == "unauthorized"
        assert close_code(carol_peer.ws) == 4401
        assert_error(h1.get(f"/api/rooms/{alice.room_id}", headers=carol.auth), 401, "unauthorized")

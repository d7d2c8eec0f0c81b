"""Joining by code with CPace on two server processes sharing PostgreSQL and Redis: a
joiner on one instance is answered by a member on the other, a waiting joiner starts
when a member connects elsewhere, the guesses from both instances count against one
limit (and retire the code together), and a member's instance dying mid-attempt tells
the joiner ``unavailable``.

Both sides run the real CPace of ``core/pake.py`` (tests/pake_join_client.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from pake_join_client import (
    WORDS,
    finish_joiner,
    join_as_joiner,
    member_admit,
    member_reply,
    open_join,
    recv,
    recv_start,
)
from pake_join_client import wrong_attempt as wrong
from services import PgServer, create_database
from support import Member, Peer, ServerProcess, close_code, create_room

pytestmark = pytest.mark.postgres
Instances = Callable[..., tuple[ServerProcess, ServerProcess]]


@pytest.fixture
def make_instances(tmp_path: Path, pg_server: PgServer, redis_url: str) -> Iterator[Instances]:
    """Two instances on one fresh database and the session's Redis (emptied after, so
    no limit's bucket outlives the test), with settings as keyword arguments."""
    started: list[ServerProcess] = []

    def make(**settings: object) -> tuple[ServerProcess, ServerProcess]:
        env = {"PEERLANE_DATABASE_URL": create_database(pg_server), "PEERLANE_REDIS_URL": redis_url}
        env |= {f"PEERLANE_{k.upper()}": str(v) for k, v in settings.items()}
        one = ServerProcess(tmp_path / "one", env=env).start()
        started.append(one)
        two = ServerProcess(tmp_path / "two", env=env).start()
        started.append(two)
        return one, two

    yield make
    for proc in started:
        proc.stop()
    redis.Redis.from_url(redis_url).flushall()


def test_a_joiner_on_one_instance_is_admitted_by_a_member_on_the_other(
    make_instances: Instances,
) -> None:
    one, two = make_instances()
    with httpx.Client(base_url=two.base, timeout=10) as http:
        alice = create_room(http, "alice")
        # Waiting on instance one until alice connects to instance two.
        ws = open_join(one, alice, "bob")
        assert recv(ws)["type"] == "pake.waiting"
        peer = Peer(two, alice)
        joiner, start = join_as_joiner(ws, WORDS)
        assert start["member"] == alice.participant_id
        answering = member_reply(peer, WORDS)
        assert finish_joiner(ws, joiner, start["attempt"]) is not None
        assert member_admit(peer, answering, os.urandom(32)) == "pake.admit"
        admitted = recv(ws)
        assert admitted["type"] == "pake.admitted", admitted
        assert close_code(ws) == 1000
        # The credentials from instance one work on instance two.
        bob = Member(alice.room_id, admitted["participant_id"], admitted["token"], {})
        r = http.get(f"/api/rooms/{alice.room_id}", headers=bob.auth)
        assert r.json()["participant"]["name"] == "bob"
        # A stray answer is refused on the member's own instance.
        peer.send({"type": "pake.reject", "attempt": start["attempt"]})
        assert peer.expect("error")["error"]["code"] == "invalid_message"
        peer.close()


def test_guesses_on_both_instances_count_against_one_limit(make_instances: Instances) -> None:
    """Two guesses per address: one through each instance, and the third is refused on
    either; the member answers from instance two throughout."""
    one, two = make_instances(code_max_failures=2, code_max_total_failures=50)
    with httpx.Client(base_url=one.base, timeout=10) as http:
        alice = create_room(http, "alice")
        peer = Peer(two, alice)
        wrong(one, alice, peer)
        wrong(two, alice, peer)
        for server in (one, two):
            ws = open_join(server, alice)
            assert recv(ws)["error"]["code"] == "too_many_attempts"
            assert close_code(ws) == 1000
        peer.assert_silent()
        peer.close()


def test_failures_on_both_instances_retire_the_code(make_instances: Instances) -> None:
    one, two = make_instances(code_max_failures=10, code_max_total_failures=2)
    with httpx.Client(base_url=one.base, timeout=10) as http:
        alice = create_room(http, "alice")
        peer = Peer(one, alice)
        wrong(two, alice, peer)
        wrong(one, alice, peer)
        ws = open_join(two, alice)
        assert recv(ws)["error"]["code"] == "invite_not_found"
        r = http.get(f"/api/rooms/{alice.room_id}/invites", headers=alice.auth)
        assert r.json()["invites"][0]["code"] is None
        peer.close()


def test_a_members_instance_dying_mid_attempt_tells_the_joiner(
    make_instances: Instances,
) -> None:
    # Members are listed for 3 s unless refreshed: the dead instance's member is
    # noticed within that and a check interval (1 s), inside the client's timeout (and
    # with room for a refresh late on a loaded machine).
    one, two = make_instances(presence_ttl=3)
    with httpx.Client(base_url=one.base, timeout=10) as http:
        alice = create_room(http, "alice")
        peer = Peer(two, alice)
        ws = open_join(one, alice)
        _, start = join_as_joiner(ws, WORDS)
        peer.expect("pake.share", attempt=start["attempt"])
        two.kill()  # SIGKILL: no socket closes cleanly, nothing is removed from Redis
        error = recv(ws)
        assert (error["type"], error["error"]["code"]) == ("error", "unavailable"), error
        assert close_code(ws) == 1000
        # No member is online any more: a new attempt waits.
        ws = open_join(one, alice)
        assert recv(ws)["type"] == "pake.waiting"
        ws.close()


@pytest.mark.parametrize("when", ["after_share", "before_share"])
def test_redis_down_mid_attempt_tells_the_joiner(
    tmp_path: Path, pg_server: PgServer, when: str
) -> None:
    """Redis (this test's own) killed after the share was relayed: the joiner's instance
    says so at its next check of the member (every 0.5 s here). Killed before: the share
    can be neither counted nor relayed, and the joiner is told at once (the next check
    would come only after the client's timeout, presence_ttl 60 s)."""
    from balancer import RedisProcess  # only the tests that kill Redis need it

    redis_server = RedisProcess().start()
    env = {
        "PEERLANE_DATABASE_URL": create_database(pg_server),
        "PEERLANE_REDIS_URL": redis_server.url,
        "PEERLANE_PRESENCE_TTL": "1.5" if when == "after_share" else "60",
        "PEERLANE_BACKEND_CONNECT_TIMEOUT": "1",
    }
    one = ServerProcess(tmp_path / "one", env=env).start()
    two = ServerProcess(tmp_path / "two", env=env).start()
    try:
        with httpx.Client(base_url=one.base, timeout=10) as http:
            alice = create_room(http, "alice")
            peer = Peer(two, alice)
            ws = open_join(one, alice)
            start = recv_start(ws)
            if when == "before_share":
                redis_server.kill()
            join_as_joiner(ws, WORDS, start)
            if when == "after_share":
                peer.expect("pake.share", attempt=start["attempt"])
                redis_server.kill()
            error = recv(ws)
            assert (error["type"], error["error"]["code"]) == ("error", "unavailable"), error
            assert close_code(ws) == 1000
    finally:
        one.stop()
        two.stop()
        redis_server.close()

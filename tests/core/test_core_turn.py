"""TURN REST credentials (coturn ``use-auth-secret``) and the ICE list sent in ``welcome``."""

from __future__ import annotations

import base64
import hashlib
import hmac

from peerlane.core.protocol import IceServer
from peerlane.core.turn import ice_servers, turn_credentials


def test_turn_credentials_follow_the_rest_scheme() -> None:
    username, password = turn_credentials("s3cret", "part-1", now=1000.4, ttl=3600)
    assert username == "4600:part-1"  # expiry first, whole seconds
    expected = hmac.new(b"s3cret", b"4600:part-1", hashlib.sha1).digest()
    assert base64.b64decode(password) == expected


def test_turn_credentials_change_with_time_and_user() -> None:
    one = turn_credentials("k", "a", now=0, ttl=10)
    assert turn_credentials("k", "a", now=0, ttl=10) == one
    assert turn_credentials("k", "a", now=5, ttl=10) != one
    assert turn_credentials("k", "b", now=0, ttl=10) != one
    assert turn_credentials("other", "a", now=0, ttl=10)[1] != one[1]


STUN: dict[str, object] = {"urls": ["stun:stun.example.org:3478"]}


def test_static_servers_only_without_a_turn_secret() -> None:
    assert ice_servers([STUN], ["turn:t.example.org"], None, user="u", now=0) == [
        IceServer(urls=["stun:stun.example.org:3478"])
    ]
    assert ice_servers([STUN], [], "secret", user="u", now=0) == [
        IceServer(urls=["stun:stun.example.org:3478"])
    ]
    assert ice_servers([], [], None, user="u", now=0) == []


def test_turn_server_is_appended_with_credentials() -> None:
    servers = ice_servers(
        [STUN], ["turn:t.example.org?transport=udp"], "k", user="u", now=100, ttl=50
    )
    assert len(servers) == 2
    turn = servers[1]
    assert turn.urls == ["turn:t.example.org?transport=udp"]
    assert (turn.username, turn.credential) == turn_credentials("k", "u", now=100, ttl=50)

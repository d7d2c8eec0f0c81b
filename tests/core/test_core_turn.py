"""TURN REST credentials (coturn ``use-auth-secret``) and the ICE list sent in ``welcome``."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from pydantic import ValidationError

from peerlane.core.protocol import IceServer
from peerlane.core.turn import TurnProvider, check_unique_names, ice_servers, turn_credentials


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
REST = TurnProvider(name="rest", urls=["turn:t.example.org?transport=udp"], secret="k")
STATIC = TurnProvider(
    name="static", urls=["turns:s.example.org:443"], username="alice", credential="pw"
)


def test_nothing_configured_means_no_ice_servers() -> None:
    # The embedded default: no public STUN, no TURN; LAN peers use host candidates.
    assert ice_servers([], [], [], user="u", now=0) == []


def test_static_servers_and_stun_come_first() -> None:
    servers = ice_servers([STUN], ["stun:turn.example.org:3478"], [REST], user="u", now=0)
    assert servers[0] == IceServer(urls=["stun:stun.example.org:3478"])
    assert servers[1] == IceServer(urls=["stun:turn.example.org:3478"])
    assert servers[2].urls == REST.urls


def test_rest_provider_gets_time_limited_credentials() -> None:
    (turn,) = ice_servers([], [], [REST], user="u", now=100, ttl=50)
    assert turn.urls == ["turn:t.example.org?transport=udp"]
    assert (turn.username, turn.credential) == turn_credentials("k", "u", now=100, ttl=50)


def test_static_provider_hands_out_its_credentials() -> None:
    (turn,) = ice_servers([], [], [STATIC], user="u", now=100)
    assert (turn.username, turn.credential) == ("alice", "pw")


def test_providers_in_priority_order_and_down_ones_left_out() -> None:
    first = REST.model_copy(update={"name": "first", "priority": -1})
    servers = ice_servers([], [], [REST, STATIC, first], user="u", now=0)
    assert [s.urls for s in servers] == [first.urls, REST.urls, STATIC.urls]
    servers = ice_servers([], [], [REST, STATIC, first], user="u", now=0, down={"first"})
    assert [s.urls for s in servers] == [REST.urls, STATIC.urls]


def test_every_provider_down_hands_out_all_of_them() -> None:
    """The check runs from the server's network: a client may still reach a relay."""
    names = {REST.name, STATIC.name}
    servers = ice_servers([], [], [REST, STATIC], user="u", now=0, down=names)
    assert [s.urls for s in servers] == [REST.urls, STATIC.urls]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"urls": ["turn:x"]}, "needs a secret, or both username and credential"),
        ({"urls": ["turn:x"], "username": "a"}, "needs a secret"),
        ({"urls": ["turn:x"], "secret": "k", "username": "a"}, "give a secret or"),
        ({"urls": ["stun:x"], "secret": "k"}, "not a turn: or turns: URL"),
        ({"urls": ["turn:"], "secret": "k"}, "not a STUN or TURN URL"),
        ({"urls": [], "secret": "k"}, "at least 1 item"),
        ({"urls": ["turn:x"], "secret": "k", "colour": "red"}, "Extra inputs"),
    ],
)
def test_provider_validation_says_what_is_wrong(fields: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        TurnProvider.model_validate({"name": "p", **fields})


def test_provider_names_are_unique() -> None:
    check_unique_names([REST, STATIC])
    with pytest.raises(ValueError, match="two TURN providers are named 'rest'"):
        check_unique_names([REST, REST])

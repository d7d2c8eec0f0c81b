"""TURN and STUN settings: several providers in one JSON setting, the flat options, checks."""

from __future__ import annotations

import json

import pytest

from peerlane.config import load_settings
from peerlane.config_check import check
from peerlane.errors import ConfigError

PROVIDERS = [
    {
        "name": "main",
        "urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
        "priority": 1,
        "secret": "0123456789abcdef0123456789abcdef",
    },
    {"name": "spare", "urls": ["turn:spare.example.net"], "username": "u", "credential": "c"},
]


def test_nothing_by_default() -> None:
    s = load_settings()
    assert (s.turn, s.stun_urls, s.ice_servers) == ([], [], [])


def test_providers_from_the_environment_and_flat_options_as_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEERLANE_TURN_PROVIDERS", json.dumps(PROVIDERS))
    monkeypatch.setenv("PEERLANE_STUN_URLS", "stun:turn.example.org:3478")
    monkeypatch.setenv("PEERLANE_TURN_URLS", "turn:old.example.org")
    monkeypatch.setenv("PEERLANE_TURN_SECRET", "flat-secret-0123456789")
    monkeypatch.setenv("PEERLANE_TURN_TTL", "600")
    s = load_settings()
    assert [p.name for p in s.turn] == ["main", "spare", "default"]
    assert s.turn[2].urls == ["turn:old.example.org"]
    flat = s.turn[2].secret
    assert flat is not None
    assert flat.get_secret_value() == "flat-secret-0123456789"
    assert "0123456789abcdef" not in repr(s)  # provider secrets stay out of reprs and logs
    assert s.stun_urls == ["stun:turn.example.org:3478"]
    assert s.turn_ttl == 600


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("[{", "not valid JSON"),
        ('[{"name": "a", "urls": ["turn:x"]}]', "needs a secret"),
        (json.dumps([PROVIDERS[1], PROVIDERS[1]]), "two TURN providers are named 'spare'"),
        (json.dumps([{**PROVIDERS[1], "name": "default"}]), 'the name "default" is kept'),
    ],
)
def test_bad_providers_are_refused_in_plain_words(value: str, words: str) -> None:
    with pytest.raises(ConfigError, match="--turn-providers") as err:
        load_settings(turn_providers=value)
    assert words in str(err.value)


def test_bad_stun_url_and_ttl_are_refused() -> None:
    with pytest.raises(ConfigError, match="not a stun: or stuns: URL"):
        load_settings(stun_urls="turn:x")
    with pytest.raises(ConfigError, match="--turn-ttl"):
        load_settings(turn_ttl=5)


def test_short_provider_secret_is_an_error_and_providers_count_as_turn() -> None:
    weak = [{**PROVIDERS[0], "secret": "short"}]
    findings = check(load_settings(turn_providers=json.dumps(weak), profile="internet"))
    assert any(f.setting == "--turn-providers" and f.level == "error" for f in findings)
    assert not any(f.setting == "--turn-urls" for f in findings)  # "no TURN" is not said

"""Invite secrets: derived from the server secret, stored only as hashes (issue #9,
finding 8)."""

from __future__ import annotations

import hashlib

import pytest

from peerlane.core import invite_secrets as sec
from peerlane.core.codes import parse
from peerlane.core.words import ADJECTIVES, NOUNS

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def test_the_link_token_is_long_url_safe_and_per_invite_and_key() -> None:
    token = sec.link_token(KEY, "inv-1")
    assert len(token) == 32  # 24 bytes, 192 bits
    assert token.replace("-", "").replace("_", "").isalnum()
    assert token == sec.link_token(KEY, "inv-1")
    assert token != sec.link_token(KEY, "inv-2")
    assert token != sec.link_token(OTHER_KEY, "inv-1")


def test_the_stored_token_hash_is_not_the_token() -> None:
    token = sec.link_token(KEY, "inv-1")
    stored = sec.token_hash(token)
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored
    assert sec.shown_link_token(KEY, "inv-1", stored) == token
    # Another server secret (or an invite made before hashing) shows no link.
    assert sec.shown_link_token(OTHER_KEY, "inv-1", stored) is None
    assert sec.shown_link_token(KEY, "inv-1", sec.token_hash("an-old-random-token")) is None


@pytest.mark.parametrize("count", [2, 3, 6])
def test_code_words_are_keyed_and_shown_again(count: int) -> None:
    words = sec.code_words(KEY, "inv-1", count)
    *adjectives, noun = words.split("-")
    assert len(adjectives) == count - 1
    assert set(adjectives) <= set(ADJECTIVES)
    assert noun in NOUNS
    stored = sec.words_hash(KEY, "inv-1", words)
    assert words not in stored
    assert sec.words_match(KEY, "inv-1", stored, words)
    assert sec.shown_words(KEY, "inv-1", stored) == words
    # The hash is keyed and per invite: neither another key nor another invite matches.
    assert not sec.words_match(OTHER_KEY, "inv-1", stored, words)
    assert not sec.words_match(KEY, "inv-2", stored, words)
    assert sec.shown_words(OTHER_KEY, "inv-1", stored) is None


def test_an_invite_without_code_words_shows_none() -> None:
    # No words hash stored (a link-only invite, or a retired code): nothing to show or match.
    assert sec.shown_words(KEY, "inv-1", None) is None
    assert not sec.words_match(KEY, "inv-1", None, sec.code_words(KEY, "inv-1", 3))


def test_a_code_as_typed_matches_its_hash() -> None:
    words = sec.code_words(KEY, "inv-1", 2)
    stored = sec.words_hash(KEY, "inv-1", words)
    typed = parse(f"7 {words.replace('-', ' ').upper()}")
    assert typed is not None
    assert sec.words_match(KEY, "inv-1", stored, typed.words)
    assert not sec.words_match(
        KEY, "inv-1", stored, "amber-falcon" if words != "amber-falcon" else "bold-acorn"
    )
    assert not sec.words_match(KEY, "inv-1", None, words)  # a retired or old code


def test_derived_words_spread_over_the_lists() -> None:
    seen = {sec.code_words(KEY, f"inv-{i}", 2) for i in range(2000)}
    assert len(seen) > 1900  # 28,014 possible: few collisions among 2,000

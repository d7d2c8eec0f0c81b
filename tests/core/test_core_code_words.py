"""An encrypted room's code words sealed under the room key (core/code_words.py), as the
browser's web/e2e/code-words.js seals them (tests/web/test_code_words_interop.py runs the
two against each other)."""

from __future__ import annotations

import pytest

from peerlane.core import code_words, codes, e2e
from peerlane.core.words import ADJECTIVES, NOUNS

KEY = e2e.RoomKey(bytes(range(32)))
NONCE = bytes(12)


def test_drawn_words_are_an_adjective_and_a_noun_and_parse_as_a_code() -> None:
    drawn = {code_words.draw_words() for _ in range(20)}
    assert len(drawn) > 10
    for words in drawn:
        adjective, noun = words.split("-")
        assert adjective in ADJECTIVES
        assert noun in NOUNS
        assert codes.parse(f"7-{words}") == codes.ShortCode(7, words)
    assert len(code_words.draw_words(4).split("-")) == 4


def test_sealed_words_open_for_their_room_and_invite_only() -> None:
    sealed = code_words.seal_code_words(KEY, "room1", "inv1", "amber-falcon", NONCE)
    assert e2e.is_envelope(sealed)
    assert "amber" not in sealed
    assert code_words.open_code_words(KEY, sealed, "room1", "inv1") == "amber-falcon"
    with pytest.raises(e2e.AuthFailed):
        code_words.open_code_words(KEY, sealed, "room1", "inv2")
    with pytest.raises(e2e.AuthFailed):
        code_words.open_code_words(KEY, sealed, "room2", "inv1")
    with pytest.raises(e2e.WrongKey):
        code_words.open_code_words(e2e.RoomKey(bytes(32)), sealed, "room1", "inv1")
    # Not a room name's envelope either: the subkey and the bound data differ.
    with pytest.raises(e2e.AuthFailed):
        e2e.open_room_name(KEY, sealed)


def test_sealed_bytes_that_are_not_utf8_are_refused() -> None:
    aad = code_words.code_aad("room1", "inv1")
    subkey = e2e.hkdf(KEY.secret, code_words.INFO_CODE_WORDS)
    sealed = e2e.seal(subkey, KEY.kid, NONCE, b"\xff\xfe", aad)
    with pytest.raises(e2e.Malformed):
        code_words.open_code_words(KEY, sealed, "room1", "inv1")


def test_trusted_words_come_only_from_a_sealed_field_that_opens() -> None:
    sealed = code_words.seal_code_words(KEY, "room1", "inv1", "amber-falcon", NONCE)
    assert code_words.trusted_words(KEY, sealed, "room1", "inv1") == "amber-falcon"
    assert code_words.trusted_words(None, sealed, "room1", "inv1") is None
    assert code_words.trusted_words(KEY, None, "room1", "inv1") is None
    assert code_words.trusted_words(KEY, "", "room1", "inv1") is None
    assert code_words.trusted_words(KEY, sealed, "room1", "other") is None
    assert code_words.trusted_words(KEY, "not an envelope", "room1", "inv1") is None

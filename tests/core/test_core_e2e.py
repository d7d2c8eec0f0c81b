"""End-to-end encryption (core/e2e.py): the scheme against the checked-in vectors, every
failure as its typed error, and round trips. Plain functions, no event loop."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from e2e_vectors import VECTORS_PATH, build, dumps, fixed
from peerlane.core import e2e

VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
KEY = e2e.RoomKey(fixed("room key a"))
CONTEXT = {"room_id": "r1", "sender": "p1", "content_id": "m1"}


def test_the_checked_in_vectors_are_what_the_core_makes() -> None:
    assert VECTORS_PATH.read_text(encoding="utf-8") == dumps(build()), (
        "tests/vectors/e2e.json is stale: run tests/e2e_vectors.py (and check why it changed)"
    )


@pytest.mark.parametrize("case", VECTORS["hkdf"], ids=lambda c: c["info"])
def test_hkdf_vectors(case: dict[str, Any]) -> None:
    assert e2e.hkdf(bytes.fromhex(case["ikm"]), case["info"], case["length"]).hex() == case["okm"]


def test_hkdf_known_answer_rfc5869_with_empty_salt() -> None:
    # RFC 5869 test case 3: SHA-256, 22 bytes of 0x0b, no salt, no info, 42 bytes.
    okm = e2e.hkdf(bytes([0x0B] * 22), b"", 42)
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


@pytest.mark.parametrize("case", VECTORS["keys"], ids=lambda c: c["kid"])
def test_key_vectors(case: dict[str, Any]) -> None:
    key = e2e.RoomKey.decode(case["secret"], case["epoch"])
    assert key.kid == case["kid"]
    assert key.chat_key.hex() == case["chat_key"]
    assert key.name_key.hex() == case["name_key"]
    assert key.chat_key != key.name_key
    assert key.encoded() == case["secret"]


@pytest.mark.parametrize("case", VECTORS["chat"], ids=lambda c: c["label"])
def test_chat_vectors(case: dict[str, Any]) -> None:
    key = e2e.RoomKey.decode(case["key"])
    context = {k: case[k] for k in ("room_id", "sender", "content_id")}
    assert e2e.body_plaintext(case["body"]).decode() == case["plaintext"]
    assert e2e.chat_aad(**context).hex() == case["aad"]
    nonce = e2e.b64u_decode(case["nonce"])
    assert e2e.seal_chat_body(key, nonce, case["body"], **context) == case["envelope"]
    assert e2e.open_chat_body(key, case["envelope"], **context) == case["body"]
    assert e2e.is_envelope(case["envelope"])
    assert e2e.envelope_kid(case["envelope"]) == key.kid


@pytest.mark.parametrize("case", VECTORS["room_name"], ids=lambda c: c["name"][:10])
def test_room_name_vectors(case: dict[str, Any]) -> None:
    key = e2e.RoomKey.decode(case["key"])
    nonce = e2e.b64u_decode(case["nonce"])
    assert e2e.seal_room_name(key, nonce, case["name"]) == case["envelope"]
    assert e2e.open_room_name(key, case["envelope"]) == case["name"]


@pytest.mark.parametrize("case", VECTORS["fragment"], ids=lambda c: c["fragment"][:12])
def test_fragment_vectors(case: dict[str, Any]) -> None:
    token, key = e2e.parse_invite_fragment(case["fragment"])
    assert token == case["token"]
    assert (key.encoded() if key else None) == case["key"]
    assert "#" + e2e.invite_fragment(token, key) == case["fragment"]


def _party(data: dict[str, str]) -> tuple[e2e.X25519PrivateKey, bytes]:
    private = e2e.x25519_private(e2e.b64u_decode(data["private"]))
    public = e2e.b64u_decode(data["public"])
    assert e2e.x25519_public_bytes(private) == public
    return private, public


@pytest.mark.parametrize("case", VECTORS["wrap"], ids=lambda c: c["room_id"])
def test_wrap_vectors(case: dict[str, Any]) -> None:
    key = e2e.RoomKey.decode(case["key"], case["epoch"])
    sender, sender_public = _party(case["sender"])
    recipient, recipient_public = _party(case["recipient"])
    ephemeral, _ = _party(case["ephemeral"])
    wrapped = e2e.wrap_room_key(
        key,
        room_id=case["room_id"],
        sender=sender,
        recipient_public=recipient_public,
        ephemeral=ephemeral,
        nonce=e2e.b64u_decode(case["nonce"]),
    )
    assert wrapped == case["wrapped"]
    opened = e2e.unwrap_room_key(
        wrapped, room_id=case["room_id"], recipient=recipient, sender_public=sender_public
    )
    assert opened == key


@pytest.mark.parametrize("case", VECTORS["safety"], ids=lambda c: c["code"][:5])
def test_safety_vectors(case: dict[str, str]) -> None:
    code = e2e.safety_code(e2e.b64u_decode(case["a"]), e2e.b64u_decode(case["b"]))
    assert code == case["code"]
    groups = code.split(" ")
    assert len(groups) == 6
    assert all(len(group) == 5 and group.isdigit() for group in groups)


def test_safety_codes_differ_between_pairs() -> None:
    codes = {case["code"] for case in VECTORS["safety"]}
    assert len(codes) == 2  # (a, b) and (b, a) agree; (a, c) differs


ERRORS = {cls.code: cls for cls in (e2e.Malformed, e2e.UnsupportedVersion, e2e.WrongKey)}
ERRORS |= {cls.code: cls for cls in (e2e.AuthFailed, e2e.BadKey)}


def run_error_case(case: dict[str, Any]) -> None:
    if case["op"] == "open_chat":
        context = {k: case[k] for k in ("room_id", "sender", "content_id")}
        e2e.open_chat_body(e2e.RoomKey.decode(case["key"]), case["envelope"], **context)
    elif case["op"] == "open_name":
        e2e.open_room_name(e2e.RoomKey.decode(case["key"]), case["envelope"])
    elif case["op"] == "parse_fragment":
        e2e.parse_invite_fragment(case["fragment"])
    else:
        assert case["op"] == "unwrap"
        e2e.unwrap_room_key(
            case["wrapped"],
            room_id=case["room_id"],
            recipient=e2e.x25519_private(e2e.b64u_decode(case["recipient_private"])),
            sender_public=e2e.b64u_decode(case["sender_public"]),
        )


@pytest.mark.parametrize("case", VECTORS["errors"], ids=lambda c: f"{c['op']}: {c['label']}")
def test_error_vectors_raise_their_typed_error(case: dict[str, Any]) -> None:
    with pytest.raises(ERRORS[case["code"]]) as info:
        run_error_case(case)
    assert info.value.code == case["code"]
    assert isinstance(info.value, e2e.E2EError)


# ------------------------------------------------------------- round trips ----

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(body=json_values, nonce=st.binary(min_size=12, max_size=12))
def test_any_json_body_round_trips(body: Any, nonce: bytes) -> None:
    envelope = e2e.seal_chat_body(KEY, nonce, body, **CONTEXT)
    assert e2e.open_chat_body(KEY, envelope, **CONTEXT) == body


def test_a_lone_surrogate_is_escaped_and_opens_to_the_same_text() -> None:
    body = {"text": "a\ud800b"}
    assert e2e.body_plaintext(body) == b'{"text":"a\\ud800b"}'
    envelope = e2e.seal_chat_body(KEY, bytes(12), body, **CONTEXT)
    assert e2e.open_chat_body(KEY, envelope, **CONTEXT) == body


@given(name=st.text(max_size=80))
def test_any_name_round_trips(name: str) -> None:
    envelope = e2e.seal_room_name(KEY, bytes(12), name)
    assert e2e.open_room_name(KEY, envelope) == name
    assert len(envelope) <= 600  # what the server accepts for a sealed name


def test_the_same_body_with_another_nonce_is_another_envelope() -> None:
    one = e2e.seal_chat_body(KEY, bytes(12), "hi", **CONTEXT)
    two = e2e.seal_chat_body(KEY, bytes([1] * 12), "hi", **CONTEXT)
    assert one != two


def test_sealed_plaintext_that_is_not_json_or_utf8_is_malformed() -> None:
    # Only a broken client seals such bytes; the reader still gets a typed error.
    bad_json = e2e.seal(
        KEY.chat_key, KEY.kid, bytes(12), b"{not json", e2e.chat_aad("r1", "p1", "m1")
    )
    with pytest.raises(e2e.Malformed, match="JSON"):
        e2e.open_chat_body(KEY, bad_json, **CONTEXT)
    bad_utf8 = e2e.seal(KEY.chat_key, KEY.kid, bytes(12), b'"\xff"', e2e.chat_aad("r1", "p1", "m1"))
    with pytest.raises(e2e.Malformed, match="JSON"):
        e2e.open_chat_body(KEY, bad_utf8, **CONTEXT)
    bad_name = e2e.seal(KEY.name_key, KEY.kid, bytes(12), b"\xff", e2e.ROOM_NAME_AAD)
    with pytest.raises(e2e.Malformed, match="UTF-8"):
        e2e.open_room_name(KEY, bad_name)


# ------------------------------------------------------------- bad inputs ----


def test_is_envelope() -> None:
    assert e2e.is_envelope("e2e1.x")
    assert e2e.is_envelope("e2e9")
    assert not e2e.is_envelope("hello e2e1")
    assert not e2e.is_envelope("e2e.x")
    assert not e2e.is_envelope({"e2e1": 1})


@pytest.mark.parametrize(
    "text", ["a+b", "abc=", "a", "ab/c", "AB"]
)  # "AB" has spare bits set: not the canonical spelling of any byte
def test_base64url_is_strict(text: str) -> None:
    with pytest.raises(e2e.Malformed):
        e2e.b64u_decode(text)


def test_base64url_round_trips() -> None:
    for size in range(6):
        data = bytes(range(250, 250 + size % 6)) if size else b""
        assert e2e.b64u_decode(e2e.b64u_encode(data)) == data


def test_bad_keys() -> None:
    with pytest.raises(e2e.BadKey, match="32 bytes"):
        e2e.RoomKey(bytes(31))
    with pytest.raises(e2e.BadKey, match="epoch"):
        e2e.RoomKey(bytes(32), -1)
    with pytest.raises(e2e.BadKey, match="epoch"):
        e2e.RoomKey(bytes(32), 2**32)
    with pytest.raises(e2e.BadKey, match="43 base64url"):
        e2e.RoomKey.decode("not a key!")
    with pytest.raises(e2e.BadKey, match="nonce"):
        e2e.seal_room_name(KEY, bytes(11), "x")
    with pytest.raises(e2e.BadKey, match="private key"):
        e2e.x25519_private(bytes(31))
    with pytest.raises(e2e.BadKey, match="public key"):
        e2e.safety_code(bytes(31), bytes(32))


def _wrap_parts() -> tuple[str, dict[str, Any]]:
    alice = e2e.x25519_private(fixed("alice"))
    bob = e2e.x25519_private(fixed("bob"))
    wrapped = e2e.wrap_room_key(
        KEY,
        room_id="r1",
        sender=alice,
        recipient_public=e2e.x25519_public_bytes(bob),
        ephemeral=e2e.x25519_private(fixed("eph")),
        nonce=bytes(12),
    )
    unwrap_args = {
        "room_id": "r1",
        "recipient": bob,
        "sender_public": e2e.x25519_public_bytes(alice),
    }
    return wrapped, unwrap_args


def test_wrap_with_a_bad_nonce_or_recipient() -> None:
    alice = e2e.x25519_private(fixed("alice"))
    common: dict[str, Any] = {"room_id": "r1", "sender": alice, "ephemeral": alice}
    with pytest.raises(e2e.BadKey, match="nonce"):
        e2e.wrap_room_key(KEY, recipient_public=bytes(32), nonce=bytes(3), **common)
    with pytest.raises(e2e.BadKey, match="usable"):
        e2e.wrap_room_key(KEY, recipient_public=bytes(32), nonce=bytes(12), **common)
    with pytest.raises(e2e.BadKey, match="public key"):
        e2e.wrap_room_key(KEY, recipient_public=bytes(5), nonce=bytes(12), **common)


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda w: "hello", e2e.Malformed),
        (lambda w: "w1.x" + w[3:], e2e.Malformed),  # epoch not decimal
        (lambda w: "w1.01" + w[3:], e2e.Malformed),  # a leading zero: one spelling per epoch
        (lambda w: "w1.4294967296" + w[4:], e2e.Malformed),  # past 2**32 - 1
        (lambda w: w[:-4], e2e.Malformed),  # sealed key too short
        (lambda w: w.replace(".AAAAAAAAAAAAAAAA.", ".AAAA."), e2e.Malformed),  # short nonce
        (lambda w: w + ".x", e2e.Malformed),
    ],
)
def test_unwrap_malformed(mutate: Any, error: type[e2e.E2EError]) -> None:
    wrapped, args = _wrap_parts()
    with pytest.raises(error):
        e2e.unwrap_room_key(mutate(wrapped), **args)


def test_sealed_names_are_told_apart_from_clear_ones() -> None:
    sealed = e2e.seal_room_name(KEY, bytes(12), "é" * 80)
    assert e2e.is_sealed_name(sealed)
    assert not e2e.is_sealed_name("Planning")
    assert not e2e.is_sealed_name("e2e1.short.AAAA.AAAA")
    assert not e2e.is_sealed_name(sealed[:-1] + "!")
    sealed_sizes = {k: len(e2e.seal_room_name(KEY, bytes(12), "x" * k)) for k in range(400, 430)}
    fits = max(k for k, size in sealed_sizes.items() if size <= e2e.MAX_SEALED_NAME)
    assert e2e.is_sealed_name(e2e.seal_room_name(KEY, bytes(12), "x" * fits))
    assert not e2e.is_sealed_name(e2e.seal_room_name(KEY, bytes(12), "x" * (fits + 1)))
    assert len(e2e.seal_room_name(KEY, bytes(12), "😀" * 80)) < e2e.MAX_SEALED_NAME

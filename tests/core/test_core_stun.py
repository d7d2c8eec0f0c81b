"""The sans-I/O STUN/TURN client: message coding, and the Allocate exchange it drives."""

from __future__ import annotations

import binascii
import ipaddress
import itertools
import struct

import pytest

from peerlane.core import stun
from peerlane.core.stun import (
    ALLOCATE,
    BINDING,
    ERROR,
    INDICATION,
    REFRESH,
    REQUEST,
    SUCCESS,
    AllocateClient,
    Allocated,
    Failed,
)

TXID = bytes(range(12))


def xor_address(host: str, port: int, txid: bytes) -> bytes:
    packed = ipaddress.ip_address(host).packed
    mask = struct.pack("!I", stun.MAGIC) + txid
    family = 1 if len(packed) == 4 else 2
    xored = bytes(a ^ b for a, b in zip(packed, mask, strict=False))
    return struct.pack("!BBH", 0, family, port ^ (stun.MAGIC >> 16)) + xored


def error_code(code: int, reason: str) -> bytes:
    return struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode()


@pytest.mark.parametrize("method", [BINDING, ALLOCATE, REFRESH, 0xFFF])
@pytest.mark.parametrize("cls", [REQUEST, INDICATION, SUCCESS, ERROR])
def test_message_type_round_trips(method: int, cls: int) -> None:
    assert stun.split_type(stun.message_type(method, cls)) == (method, cls)


def test_known_message_types() -> None:
    # RFC 8489 / 8656: Binding request 0x0001, Allocate error response 0x0113.
    assert stun.message_type(BINDING, REQUEST) == 0x0001
    assert stun.message_type(BINDING, SUCCESS) == 0x0101
    assert stun.message_type(ALLOCATE, ERROR) == 0x0113


def test_binding_request_carries_a_valid_fingerprint() -> None:
    data = stun.binding_request(TXID)
    assert data[:2] == b"\x00\x01"
    assert data[4:8] == b"\x21\x12\xa4\x42"
    assert data[8:20] == TXID
    assert data[-8:-4] == struct.pack("!HH", stun.FINGERPRINT, 4)
    # The CRC covers everything before the attribute, XOR-ed with 0x5354554e.
    crc = binascii.crc32(data[:-8]) ^ 0x5354554E
    assert struct.unpack("!I", data[-4:])[0] == crc
    message = stun.decode(data)
    assert message is not None
    assert (message.method, message.cls, message.txid) == (BINDING, REQUEST, TXID)
    assert stun.frame_length(data[:20]) == len(data)


def test_integrity_verifies_with_the_right_key_only() -> None:
    key = stun.long_term_key("user", "realm", "pass")
    data = stun.encode(ALLOCATE, SUCCESS, TXID, [(stun.SOFTWARE, b"odd")], key=key)
    message = stun.decode(data)
    assert message is not None
    assert message.verify(key)
    assert not message.verify(stun.long_term_key("user", "realm", "other"))
    plain = stun.decode(stun.encode(ALLOCATE, SUCCESS, TXID, []))
    assert plain is not None
    assert not plain.verify(key)
    unfingered = stun.decode(stun.encode(BINDING, SUCCESS, TXID, [], key=key, fingerprint=False))
    assert unfingered is not None
    assert unfingered.verify(key)


def test_decode_refuses_what_is_not_stun() -> None:
    good = stun.binding_request(TXID)
    assert stun.decode(good[:19]) is None  # shorter than a header
    assert stun.decode(b"\x80" + good[1:]) is None  # RTP/DTLS, not STUN
    assert stun.decode(good[:4] + b"\0\0\0\0" + good[8:]) is None  # no magic cookie
    assert stun.decode(good[:2] + b"\x00\x05" + good[4:]) is None  # length not 4-aligned
    assert stun.decode(good + b"\0\0\0\0") is None  # length says otherwise
    bad_crc = good[:-1] + bytes([good[-1] ^ 1])
    assert stun.decode(bad_crc) is None
    overlong = struct.pack("!HH", stun.SOFTWARE, 64) + b"abcd"
    data = struct.pack("!HHI12s", 0x0101, len(overlong), stun.MAGIC, TXID) + overlong
    assert stun.decode(data) is None  # an attribute runs past the end


def test_addresses_and_texts() -> None:
    v6 = "2001:db8::1"
    mapped = struct.pack("!BBH", 0, 1, 4242) + ipaddress.ip_address("192.0.2.7").packed
    attributes = [
        (stun.XOR_MAPPED_ADDRESS, xor_address("198.51.100.2", 50000, TXID)),
        (stun.XOR_RELAYED_ADDRESS, xor_address(v6, 49152, TXID)),
        (stun.MAPPED_ADDRESS, mapped),
        (stun.REALM, "réalm".encode()),
    ]
    message = stun.decode(stun.encode(BINDING, SUCCESS, TXID, attributes))
    assert message is not None
    assert message.address(stun.XOR_MAPPED_ADDRESS) == ("198.51.100.2", 50000)
    assert message.address(stun.XOR_RELAYED_ADDRESS) == (v6, 49152)
    assert message.address(stun.MAPPED_ADDRESS) == ("192.0.2.7", 4242)
    assert message.text(stun.REALM) == "réalm"
    assert message.text(stun.NONCE) is None
    assert message.error is None


@pytest.mark.parametrize(
    "value",
    [
        b"\0\x01\0",  # too short
        struct.pack("!BBH", 0, 9, 1) + b"\0" * 4,  # no such family
        struct.pack("!BBH", 0, 2, 1) + b"\0" * 4,  # IPv6 family, IPv4 length
    ],
)
def test_malformed_addresses_read_as_none(value: bytes) -> None:
    message = stun.decode(stun.encode(BINDING, SUCCESS, TXID, [(stun.XOR_MAPPED_ADDRESS, value)]))
    assert message is not None
    assert message.address(stun.XOR_MAPPED_ADDRESS) is None
    assert message.address(stun.XOR_RELAYED_ADDRESS) is None


def test_error_code() -> None:
    message = stun.decode(
        stun.encode(ALLOCATE, ERROR, TXID, [(stun.ERROR_CODE, error_code(438, "Stale Nonce"))])
    )
    assert message is not None
    assert message.error == (438, "Stale Nonce")
    short = stun.decode(stun.encode(ALLOCATE, ERROR, TXID, [(stun.ERROR_CODE, b"\0\0")]))
    assert short is not None
    assert short.error is None


class FakeTurn:
    """Answers as coturn does, for the client's side of the exchange."""

    def __init__(self, password: str = "pw", realm: str = "peerlane.test") -> None:
        self.password, self.realm = password, realm
        self.key = stun.long_term_key("alice", realm, password)

    def challenge(self, request: bytes, code: int = 401, nonce: str = "n1") -> bytes:
        message = stun.decode(request)
        assert message is not None
        attributes = [
            (stun.ERROR_CODE, error_code(code, "Unauthorized")),
            (stun.REALM, self.realm.encode()),
            (stun.NONCE, nonce.encode()),
        ]
        return stun.encode(ALLOCATE, ERROR, message.txid, attributes)

    def allocated(self, request: bytes, *, lifetime: bool = True, relayed: bool = True) -> bytes:
        message = stun.decode(request)
        assert message is not None
        assert message.verify(self.key)
        attributes = [(stun.XOR_MAPPED_ADDRESS, xor_address("127.0.0.1", 5000, message.txid))]
        if relayed:
            attributes.append(
                (stun.XOR_RELAYED_ADDRESS, xor_address("127.0.0.1", 49160, message.txid))
            )
        if lifetime:
            attributes.append((stun.LIFETIME, struct.pack("!I", 600)))
        return stun.encode(ALLOCATE, SUCCESS, message.txid, attributes, key=self.key)


def new_client(password: str = "pw") -> AllocateClient:
    counter = itertools.count(1)
    return AllocateClient("alice", password, lambda: next(counter).to_bytes(12, "big"))


def test_allocate_signs_in_after_the_challenge_and_frees_the_allocation() -> None:
    server, client = FakeTurn(), new_client()
    first = client.start()
    message = stun.decode(first)
    assert message is not None
    assert (message.method, message.cls) == (ALLOCATE, REQUEST)
    assert message.attributes[stun.REQUESTED_TRANSPORT] == b"\x11\0\0\0"  # UDP
    assert stun.USERNAME not in message.attributes
    assert message.integrity_at is None
    retry = client.receive(server.challenge(first))
    assert isinstance(retry, bytes)
    signed = stun.decode(retry)
    assert signed is not None
    assert signed.txid != message.txid
    assert signed.text(stun.USERNAME) == "alice"
    assert (signed.text(stun.REALM), signed.text(stun.NONCE)) == ("peerlane.test", "n1")
    assert signed.verify(server.key)
    outcome = client.receive(server.allocated(retry))
    assert outcome == Allocated(("127.0.0.1", 49160), ("127.0.0.1", 5000), 600)
    release = stun.decode(client.release())
    assert release is not None
    assert (release.method, release.cls) == (REFRESH, REQUEST)
    assert release.attributes[stun.LIFETIME] == b"\0\0\0\0"
    assert release.verify(server.key)


def test_wrong_password_fails_after_one_retry() -> None:
    server, client = FakeTurn(), new_client("wrong")
    retry = client.receive(server.challenge(client.start()))
    assert isinstance(retry, bytes)
    assert client.receive(server.challenge(retry)) == Failed(
        "wrong credentials (401 after signing in)"
    )


def test_stale_nonce_is_retried_with_the_new_one_then_given_up() -> None:
    server, client = FakeTurn(), new_client()
    retry = client.receive(server.challenge(client.start()))
    assert isinstance(retry, bytes)
    again = client.receive(server.challenge(retry, code=438, nonce="n2"))
    assert isinstance(again, bytes)
    signed = stun.decode(again)
    assert signed is not None
    assert signed.text(stun.NONCE) == "n2"
    outcome = client.receive(server.challenge(again, code=438, nonce="n3"))
    assert outcome == Failed("error 438 Unauthorized")


def test_other_errors_and_odd_answers() -> None:
    client = new_client()
    first = client.start()
    assert client.receive(b"not stun at all") is None
    assert client.receive(stun.encode(ALLOCATE, ERROR, b"x" * 12, [])) is None  # not ours
    assert client.receive(stun.encode(BINDING, SUCCESS, TXID, [])) is None
    txid = stun.decode(first).txid  # type: ignore[union-attr]
    assert client.receive(stun.encode(ALLOCATE, INDICATION, txid, [])) is None
    quota = stun.encode(ALLOCATE, ERROR, txid, [(stun.ERROR_CODE, error_code(486, "Quota"))])
    assert client.receive(quota) == Failed("error 486 Quota")
    assert client.receive(stun.encode(ALLOCATE, ERROR, txid, [])) == Failed("error 0 no error code")
    # A success before signing in, or one not signed with our key, is not believed.
    assert client.receive(stun.encode(ALLOCATE, SUCCESS, txid, [])) == Failed(
        "the answer is not signed with our credentials"
    )


def test_success_without_a_relayed_address_or_lifetime() -> None:
    server, client = FakeTurn(), new_client()
    retry = client.receive(server.challenge(client.start()))
    assert isinstance(retry, bytes)
    assert client.receive(server.allocated(retry, relayed=False)) == Failed(
        "the answer has no relayed address"
    )
    outcome = client.receive(server.allocated(retry, lifetime=False))
    assert isinstance(outcome, Allocated)
    assert outcome.lifetime == 0


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("stun:stun.example.org", ("stun", "stun.example.org", 3478, "udp")),
        ("stun:10.0.0.1:19302", ("stun", "10.0.0.1", 19302, "udp")),
        ("turn:t.example:3478?transport=tcp", ("turn", "t.example", 3478, "tcp")),
        ("turn:t.example?transport=UDP", ("turn", "t.example", 3478, "udp")),
        ("turn:t.example?transport=sctp", ("turn", "t.example", 3478, "udp")),
        ("turns:t.example", ("turns", "t.example", 5349, "tls")),
        ("turns:t.example:443?transport=tcp", ("turns", "t.example", 443, "tls")),
        ("turn:[2001:db8::1]:3479", ("turn", "2001:db8::1", 3479, "udp")),
        ("turn:[2001:db8::1]", ("turn", "2001:db8::1", 3478, "udp")),
    ],
)
def test_ice_urls(url: str, want: tuple[str, str, int, str]) -> None:
    parsed = stun.IceUrl.parse(url)
    assert (parsed.scheme, parsed.host, parsed.port, parsed.transport) == want


@pytest.mark.parametrize(
    "bad", ["http://x", "stun:", "turn::3478", "turn:h:port", "turn:h:0", "turn:h:70000", "turn:[]"]
)
def test_what_is_not_an_ice_url_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a STUN or TURN URL"):
        stun.IceUrl.parse(bad)


def test_ice_url_labels() -> None:
    assert stun.IceUrl.parse("turns:t.example").label == "TURN TLS t.example:5349"
    assert stun.IceUrl.parse("turn:t:1?transport=tcp").label == "TURN TCP t:1"
    assert stun.IceUrl.parse("stun:s:1").label == "STUN UDP s:1"

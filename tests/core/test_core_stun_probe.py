"""core.stun_probe and core.net_verdict: STUN/TURN messages for ``peerlane doctor``, the
ICE URLs it reads, and the verdicts it prints. (The exchange with a real coturn is
tests/integration/test_cli_doctor.py.)"""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest

from peerlane.core import stun_probe as sp
from peerlane.core.net_verdict import Check, advice, nat_estimate

TXID = bytes(range(12))


def attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def answer(kind: int, *attributes: bytes, txid: bytes = TXID) -> bytes:
    body = b"".join(attributes)
    return struct.pack("!HHI12s", kind, len(body), sp.MAGIC, txid) + body


def xor_address(ip: bytes, port: int, txid: bytes = TXID) -> bytes:
    mask = struct.pack("!I", sp.MAGIC) + txid
    family = 1 if len(ip) == 4 else 2
    xored = bytes(a ^ b for a, b in zip(ip, mask, strict=False))
    return struct.pack("!xBH", family, port ^ (sp.MAGIC >> 16)) + xored


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("stun:stun.example.org", ("stun", "stun.example.org", 3478, "udp")),
        ("stun:10.0.0.1:19302", ("stun", "10.0.0.1", 19302, "udp")),
        ("turn:t.example:3478?transport=tcp", ("turn", "t.example", 3478, "tcp")),
        ("turn:t.example?transport=UDP", ("turn", "t.example", 3478, "udp")),
        ("turn:t.example?transport=sctp", ("turn", "t.example", 3478, "udp")),
        ("turns:t.example", ("turns", "t.example", 5349, "tls")),
        ("turn:[2001:db8::1]:3479", ("turn", "2001:db8::1", 3479, "udp")),
        ("turn:[2001:db8::1]", ("turn", "2001:db8::1", 3478, "udp")),
    ],
)
def test_ice_urls(url: str, want: tuple[str, str, int, str]) -> None:
    parsed = sp.parse_ice_url(url)
    assert parsed is not None
    assert (parsed.scheme, parsed.host, parsed.port, parsed.transport) == want


def test_ice_url_labels_and_refusals() -> None:
    assert sp.parse_ice_url("turns:t.example").label == "TURN TLS t.example:5349"
    assert sp.parse_ice_url("stun:s:1").label == "STUN UDP s:1"
    for bad in ("http://x", "stun:", "turn::3478", "turn:h:port", "turn:h:0", "turn:h:70000"):
        assert sp.parse_ice_url(bad) is None, bad


def test_binding_request_and_reflexive_answer() -> None:
    request = sp.binding_request(TXID)
    assert request == struct.pack("!HHI12s", 1, 0, sp.MAGIC, TXID)
    got = sp.parse(
        answer(0x0101, attribute(0x0020, xor_address(bytes([203, 0, 113, 7]), 54321))), TXID
    )
    assert got.kind == sp.BINDING_SUCCESS
    assert got.address() == ("203.0.113.7", 54321)
    v6 = bytes.fromhex("20010db8000000000000000000000042")
    got6 = sp.parse(answer(0x0101, attribute(0x0020, xor_address(v6, 3478))), TXID)
    assert got6.address() == ("2001:db8::42", 3478)
    assert got.address(sp.XOR_RELAYED_ADDRESS) is None
    short = sp.parse(answer(0x0101, attribute(0x0020, b"\0\1\0\0")), TXID)
    assert short.address() is None
    cut = sp.parse(answer(0x0101, attribute(0x0020, b"\0\2\0\0" + b"\1" * 8)), TXID)
    assert cut.address() is None  # an IPv6 family with 8 bytes of address


def test_answers_that_are_not_for_this_request_are_refused() -> None:
    good = answer(0x0101)
    with pytest.raises(sp.StunError):
        sp.parse(good[:10], TXID)
    with pytest.raises(sp.StunError):
        sp.parse(good, bytes(12))  # another transaction
    with pytest.raises(sp.StunError):
        sp.parse(good[:4] + b"\0\0\0\0" + good[8:], TXID)  # no magic cookie
    with pytest.raises(sp.StunError):
        sp.parse(answer(0x0101, attribute(0x0020, b"x" * 8))[:-4], TXID)  # cut short
    with pytest.raises(ValueError, match="12 bytes"):
        sp.binding_request(b"short")


def test_allocate_with_the_long_term_credential_mechanism() -> None:
    first = sp.allocate_request(TXID)
    assert first[:2] == b"\x00\x03"
    assert first[20:28] == attribute(0x0019, bytes([17, 0, 0, 0]))
    challenge = sp.parse(
        answer(
            0x0113,
            attribute(0x0009, b"\0\0\x04\x01Unauthorized"),
            attribute(0x0014, b"peerlane.test"),
            attribute(0x0015, b"nonce123"),
        ),
        TXID,
    )
    assert challenge.error == (401, "Unauthorized")
    creds = challenge.challenge("1800000000:bob", "pw")
    assert creds == sp.Credentials("1800000000:bob", "pw", "peerlane.test", b"nonce123")
    assert sp.allocate_request(TXID, sp.Credentials("u", "p")) == first  # no realm yet

    signed = sp.allocate_request(TXID, creds)
    # MESSAGE-INTEGRITY (RFC 8489 §14.5): HMAC-SHA1 over the message up to it, whose
    # header length already counts it; key MD5(username:realm:password).
    key = hashlib.md5(b"1800000000:bob:peerlane.test:pw").digest()
    body_len = struct.unpack("!H", signed[2:4])[0]
    assert body_len == len(signed) - 20
    mac = hmac.new(key, signed[:-24], hashlib.sha1).digest()
    assert signed[-24:] == attribute(0x0008, mac)
    for part in (b"1800000000:bob", b"peerlane.test", b"nonce123"):
        assert part in signed

    refresh = sp.refresh_request(TXID, creds)
    assert refresh[:2] == b"\x00\x04"
    assert attribute(0x000D, b"\0\0\0\0") in refresh
    assert sp.message_length(refresh[:20]) == len(refresh)
    with pytest.raises(sp.StunError):
        sp.message_length(b"\0" * 5)

    relayed = sp.parse(
        answer(0x0103, attribute(0x0016, xor_address(bytes([10, 0, 0, 9]), 50000))), TXID
    )
    assert relayed.address(sp.XOR_RELAYED_ADDRESS) == ("10.0.0.9", 50000)
    assert relayed.error is None
    assert relayed.challenge("u", "p") is None
    assert sp.parse(answer(0x0113, attribute(0x0009, b"\0\0")), TXID).error is None


def test_nat_estimate() -> None:
    assert nat_estimate({"10.0.0.2"}, None).startswith("unknown")
    assert nat_estimate({"198.51.100.4"}, "198.51.100.4").startswith("no NAT")
    assert (
        nat_estimate({"10.0.0.2"}, "198.51.100.4")
        == "behind NAT: the STUN server sees 198.51.100.4"
    )


def checks(**oks: bool) -> list[Check]:
    return [Check(name.replace("_", " "), ok, "") for name, ok in oks.items()]


def test_advice() -> None:
    everything = checks(
        server=True, websocket=True, STUN_UDP_s=True, TURN_UDP_t=True, TURN_TCP_t=True
    )
    assert advice(everything, 2) == [
        "Every check passed: direct and relayed connections should work from here."
    ]
    [tip] = advice(checks(server=False), 0)
    assert tip.startswith("The server cannot be reached")
    tips = advice(checks(server=True, websocket=False), 0)
    assert [t.split(":")[0] for t in tips] == [
        "The server answers but its WebSocket does not",
        "The server offers no STUN or TURN server",
    ]
    udp_blocked = advice(
        checks(server=True, websocket=True, STUN_UDP_s=False, TURN_UDP_t=False, TURN_TCP_t=True), 2
    )
    assert udp_blocked[0].startswith("STUN does not answer over UDP")
    assert udp_blocked[1].startswith("TURN over UDP fails but another transport works")
    no_relay = advice(checks(server=True, websocket=True, TURN_UDP_t=False, TURN_TCP_t=False), 1)
    assert no_relay[0].startswith("No TURN relay works from here")

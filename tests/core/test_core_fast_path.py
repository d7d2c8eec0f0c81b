"""The fast path's signaling fields and stream framing (core.fast_path)."""

from __future__ import annotations

import hashlib

import pytest

from peerlane.core import fast_path as fp
from peerlane.core import transfer_flow as tf
from peerlane.core.integrity import BLOCK_SIZE

FP = "ab" * 32


def test_candidates_travel_in_the_offer_and_come_back_the_same() -> None:
    candidates = fp.Candidates((("10.0.0.2", 4000), ("fe80::1", 5000)), FP)
    assert candidates.body() == {"addrs": ["10.0.0.2:4000", "[fe80::1]:5000"], "fp": FP}
    offer = tf.Offer("t1", "a.bin", 5, "", "cd" * 32, fast=candidates)
    assert tf.parse_offer(offer.body(), "me") == offer
    assert tf.parse_offer(tf.Offer("t1", "a.bin", 5, "", "cd" * 32).body(), "me").fast is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"addrs": ["10.0.0.2:1"], "fp": "AB" * 32},
        {"addrs": ["10.0.0.2:1"], "fp": 5},
        {"addrs": "10.0.0.2:1", "fp": FP},
        {"addrs": [], "fp": FP},
        {"addrs": ["host.example:1", "10.0.0.2", "10.0.0.2:0", "10.0.0.2:x", 7], "fp": FP},
    ],
)
def test_unusable_candidates_are_none(body: object) -> None:
    assert fp.parse_candidates(body) is None


def test_addresses_are_literal_ips_with_a_port_and_at_most_sixteen() -> None:
    assert fp.split_address("[::1]:80") == ("::1", 80)
    assert fp.split_address("10.1.2.3:65535") == ("10.1.2.3", 65535)
    assert fp.split_address("10.1.2.3:65536") is None
    many = {"addrs": [f"10.0.0.{i}:1" for i in range(40)], "fp": FP}
    assert len(fp.parse_candidates(many).addresses) == fp.MAX_ADDRESSES  # type: ignore[union-attr]


def test_the_accept_carries_the_receivers_certificate() -> None:
    body = tf.control_body("accept", "t1", have=0, fast=fp.accept_fields(b"\x01\x02cert"))
    assert fp.accepted_cert(body) == b"\x01\x02cert"
    assert fp.fingerprint(b"x") == hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"op": "accept"},
        {"fast": "x"},
        {"fast": {"cert": 5}},
        {"fast": {"cert": ""}},
        {"fast": {"cert": "!!not base64"}},
        {"fast": {"cert": "A" * (fp.MAX_CERT_CHARS + 4)}},
    ],
)
def test_an_accept_without_a_usable_certificate_has_none(body: object) -> None:
    assert fp.accepted_cert(body) is None


def test_the_hello_names_the_transfer_and_nothing_else() -> None:
    assert fp.parse_hello(fp.hello("t-1_x")) == ("t-1_x", None)
    assert fp.parse_hello(fp.hello("t-1_x", "ab" * 32)) == ("t-1_x", "ab" * 32)
    assert fp.parse_hello(fp.HELLO_PREFIX + b"t1 nothex\n") == ("t1", None)
    assert fp.parse_hello(b"GET / HTTP/1.1\n") is None
    assert fp.parse_hello(fp.HELLO_PREFIX + b"../etc\n") is None
    assert fp.parse_hello(fp.HELLO_PREFIX + b"a" * 200 + b"\n") is None


def test_frames_have_a_kind_and_a_bounded_length() -> None:
    header = fp.frame_header(fp.DATA, 8 + BLOCK_SIZE)
    assert fp.parse_frame_header(header) == (fp.DATA, 8 + BLOCK_SIZE)
    sealed = 8 + BLOCK_SIZE + 16  # an encrypted room's block, sealed (core/e2e_file.py)
    assert fp.parse_frame_header(fp.frame_header(fp.DATA, sealed)) == (fp.DATA, sealed)
    assert fp.parse_frame_header(fp.frame_header(fp.DATA, sealed + 1)) is None
    assert fp.parse_frame_header(fp.frame_header(fp.CONTROL, 12)) == (fp.CONTROL, 12)
    assert fp.parse_frame_header(fp.frame_header(7, 1)) is None

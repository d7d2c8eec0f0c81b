"""core.transfer_wire: the data channel's frames (the agreement with web/transfer-wire.js
itself is tests/unit/test_transfer_wire_agreement.py, which runs both)."""

from __future__ import annotations

import pytest

from peerlane.core import transfer_wire as tw

H = "ab" * 32


def test_data_frames() -> None:
    frame = tw.encode_data(3, 65536, b"xyz")
    assert frame == b"\0\0\0\3\0\1\0\0xyz"
    assert tw.decode_data(frame) == tw.Data(3, 65536, b"xyz")
    assert tw.decode_data(b"\0" * 8) == tw.Data(0, 0, b"")
    assert tw.decode_data(b"\0" * 7) is None


def test_labels() -> None:
    assert tw.label_of("abc") == "file:abc"
    assert tw.transfer_of_label("file:abc") == "abc"
    assert tw.transfer_of_label("file:") is None
    assert tw.transfer_of_label("chat") is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{"t":"want","from":2,"hashes":true}', tw.Control("want", 2, True)),
        ('{"t":"want","from":0}', tw.Control("want", 0, False)),
        ('{"t":"want","from":0,"hashes":"yes"}', tw.Control("want", 0, False)),
        ('{"t":"ok","block":7}', tw.Control("ok", 7)),
        ('{"t":"bad","block":0}', tw.Control("bad", 0)),
        (f'{{"t":"hashes","from":1,"hashes":"{H}{H}"}}', tw.Control("hashes", 1, H + H)),
        ('{"t":"hashes","from":1,"hashes":""}', tw.Control("hashes", 1, "")),
        ('{"t":"end"}', tw.Control("end")),
        ('{"t":"nofile"}', tw.Control("nofile")),
    ],
)
def test_control_frames_round_trip(text: str, want: tw.Control) -> None:
    assert tw.decode_control(text) == want
    assert tw.decode_control(want.encode()) == want


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"t":"hello"}',
        '{"t":"ok"}',
        '{"t":"ok","block":-1}',
        '{"t":"ok","block":1.5}',
        '{"t":"ok","block":true}',
        '{"t":"hashes","from":0,"hashes":"xyz"}',
        '{"t":"hashes","from":0,"hashes":"' + "a" * 63 + '"}',
        '{"t":"hashes","from":0}',
        '{"t":"end","pad":"' + "x" * tw.MAX_CONTROL_CHARS + '"}',
    ],
)
def test_bad_control_frames_are_none(text: str) -> None:
    assert tw.decode_control(text) is None


def test_hashes_frames_split_at_the_limit() -> None:
    hashes = [f"{i:064x}" for i in range(2500)]
    frames = tw.hashes_frames(hashes, 100)
    assert [f.number for f in frames] == [100, 1100, 2100]
    joined = "".join(str(f.hashes) for f in frames)
    assert tw.split_hashes(joined) == hashes[100:]
    assert tw.hashes_frames(hashes, 2500) == []
    assert all(len(f.encode()) < 64 * 1024 for f in frames)


def test_the_chunk_fits_the_peers_largest_message() -> None:
    assert tw.chunk_bytes_for("v=0\r\na=max-message-size:262144\r\n") == tw.CHUNK_BYTES
    assert tw.chunk_bytes_for("v=0\r\na=max-message-size:65536\r\n") == 65536 - tw.HEADER_BYTES
    assert tw.chunk_bytes_for("v=0\r\n") == 65536 - tw.HEADER_BYTES  # RFC 8841's default
    assert tw.chunk_bytes_for(None) == 65536 - tw.HEADER_BYTES
    assert tw.chunk_bytes_for("a=max-message-size:0\r\n") == tw.CHUNK_BYTES  # no limit
    assert tw.chunk_bytes_for("a=max-message-size:4\r\n") == 1

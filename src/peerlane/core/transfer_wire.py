"""The per-transfer data channel's frames (docs/file-transfer.md, "Peer-to-peer data
channel"): the Python side of web/transfer-wire.js, byte for byte, for the terminal peer.

Binary frames carry file bytes: ``[u32 block index][u32 offset in block][payload]``, big
endian. Text frames are JSON control messages with a field ``t``: ``want {from, hashes}``,
``bad {block}``, ``ok {block}`` (receiver → sender), ``hashes {from, hashes}``, ``end``,
``nofile`` (sender → receiver).
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from typing import Any, Literal

LABEL_PREFIX = "file:"
HEADER_BYTES = 8
CHUNK_BYTES = 64 * 1024  # payload per binary frame, a divisor of the 1 MiB block
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024
HASHES_PER_FRAME = 1000
MAX_CONTROL_CHARS = 4 * 1024 * 1024
TRANSFER_FRAMES = ("want", "bad", "ok", "hashes", "end", "nofile")
_NUMERIC = {"want": "from", "bad": "block", "ok": "block", "hashes": "from"}
_HASHES = re.compile(r"(?:[0-9a-f]{64})*")
_HEADER = struct.Struct("!II")

ControlType = Literal["want", "bad", "ok", "hashes", "end", "nofile"]


@dataclass(frozen=True, slots=True)
class Control:
    t: ControlType
    number: int = 0  # `from` (want, hashes) or `block` (bad, ok)
    hashes: str | bool = False  # want: send the hashes first; hashes: the hex digits

    def encode(self) -> str:
        frame: dict[str, Any] = {"t": self.t}
        if self.t in _NUMERIC:
            frame[_NUMERIC[self.t]] = self.number
        if self.t in ("want", "hashes"):
            frame["hashes"] = self.hashes
        return json.dumps(frame, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Data:
    block: int
    offset: int
    payload: bytes


DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024  # RFC 8841: a peer's SDP without a=max-message-size
_MAX_MESSAGE_SIZE = re.compile(r"^a=max-message-size:(\d+)\s*$", re.MULTILINE)


def chunk_bytes_for(remote_sdp: str | None) -> int:
    """The payload per binary frame for a peer: CHUNK_BYTES, less when the peer's SDP
    announces a smaller largest message (aiortc: 64 KiB, a header too few for a whole
    chunk), as web/transfer-outgoing.js picks it. 0 in the SDP means no limit."""
    found = _MAX_MESSAGE_SIZE.search(remote_sdp or "")
    limit = int(found.group(1)) if found else DEFAULT_MAX_MESSAGE_SIZE
    return CHUNK_BYTES if limit == 0 else max(1, min(CHUNK_BYTES, limit - HEADER_BYTES))


def label_of(transfer_id: str) -> str:
    return LABEL_PREFIX + transfer_id


def transfer_of_label(label: str) -> str | None:
    if label.startswith(LABEL_PREFIX) and len(label) > len(LABEL_PREFIX):
        return label[len(LABEL_PREFIX) :]
    return None


def encode_data(block: int, offset: int, payload: bytes) -> bytes:
    return _HEADER.pack(block, offset) + payload


def decode_data(frame: bytes) -> Data | None:
    if len(frame) < HEADER_BYTES:
        return None
    block, offset = _HEADER.unpack_from(frame)
    return Data(block, offset, frame[HEADER_BYTES:])


def decode_control(text: str) -> Control | None:
    """A control frame with the fields its type needs, or ``None`` (as decodeControl)."""
    if len(text) > MAX_CONTROL_CHARS:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("t") not in TRANSFER_FRAMES:
        return None
    kind = obj["t"]
    if kind in ("end", "nofile"):
        return Control(kind)
    number = obj.get(_NUMERIC[kind])
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        return None
    if kind == "hashes":
        hashes = obj.get("hashes")
        if not isinstance(hashes, str) or not _HASHES.fullmatch(hashes):
            return None
        return Control(kind, number, hashes)
    if kind == "want":
        return Control(kind, number, obj.get("hashes") is True)
    return Control(kind, number)


def split_hashes(joined: str) -> list[str]:
    return [joined[i : i + 64] for i in range(0, len(joined), 64)]


def hashes_frames(block_hashes: list[str], start: int) -> list[Control]:
    """The ``hashes`` frames for blocks ``start`` on, at most HASHES_PER_FRAME each."""
    return [
        Control("hashes", at, "".join(block_hashes[at : at + HASHES_PER_FRAME]))
        for at in range(start, len(block_hashes), HASHES_PER_FRAME)
    ]

"""The direct-TCP fast path between two terminal peers, sans-I/O (docs/file-transfer.md,
"Fast path between two CLIs"): what the signaling carries and how the stream is framed.

The sender's ``offer`` carries ``fast {addrs, fp}``: the ``host:port`` addresses it listens
on and the SHA-256 of its self-signed TLS certificate. A receiver that takes the fast path
puts its own certificate in its ``accept`` (``fast {cert}``, base64 DER). Both travel over
the room's authenticated signaling, so each end pins the other's key: the receiver checks
the server certificate's fingerprint, the sender trusts exactly the accepted certificates.
Browsers ignore both fields.

On the TCP connection the receiver first writes the plain :func:`hello` line naming the
transfer (so the sender knows whose certificates to trust), the sender answers the
:data:`READY` line when someone accepted that transfer, then TLS 1.3 starts, then the
data channel's own messages (core/transfer_wire.py) travel as frames
``[u8 kind][u32 length][payload]``: kind 0 a JSON control frame, kind 1 a data frame.

A connection outlives its transfer: once the sender's ``end`` has come, the receiver may
name another transfer with a :func:`next_frame` (``{"t": "next", "transfer"}``) and carry
on with its ``want``; the sender takes it when this connection's certificate accepted that
transfer too, and closes the connection otherwise. Many small files then cost no TCP and
TLS handshake each.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import re
import struct
from dataclasses import dataclass
from typing import Any

from peerlane.core.e2e_file import SEALED_BLOCK_SIZE
from peerlane.core.transfer_wire import HEADER_BYTES, MAX_CONTROL_CHARS

HELLO_PREFIX = b"PEERLANE-FAST/1 "
READY = b"PEERLANE-FAST/1 ready\n"  # the sender's answer; TLS starts after it
MAX_HELLO_BYTES = 160
MAX_ADDRESSES = 16
MAX_CERT_CHARS = 8 * 1024
CONTROL, DATA = 0, 1
FRAME_HEADER = struct.Struct("!BI")
# A data frame holds one whole block, sealed (its 16-byte tag more) in an encrypted room
MAX_FRAME = {CONTROL: MAX_CONTROL_CHARS * 4, DATA: HEADER_BYTES + SEALED_BLOCK_SIZE}
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
_TRANSFER = re.compile(rb"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Candidates:
    """Where the sender listens, and its certificate's fingerprint."""

    addresses: tuple[tuple[str, int], ...]
    fingerprint: str

    def body(self) -> dict[str, Any]:
        return {"addrs": [join_address(h, p) for h, p in self.addresses], "fp": self.fingerprint}


def fingerprint(cert_der: bytes) -> str:
    return hashlib.sha256(cert_der).hexdigest()


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_address(text: Any) -> tuple[str, int] | None:
    """``host:port`` or ``[v6]:port`` with a literal IP address, else ``None``."""
    if not isinstance(text, str):
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return str(address), int(port)


def parse_candidates(body: Any) -> Candidates | None:
    """An offer's ``fast`` field, or ``None`` when it is absent or not usable."""
    if not isinstance(body, dict):
        return None
    fp, addrs = body.get("fp"), body.get("addrs")
    if not isinstance(fp, str) or not _FINGERPRINT.match(fp) or not isinstance(addrs, list):
        return None
    parsed = [split_address(a) for a in addrs[:MAX_ADDRESSES]]
    found = tuple(a for a in parsed if a is not None)
    return Candidates(found, fp) if found else None


def accept_fields(cert_der: bytes) -> dict[str, Any]:
    return {"cert": base64.b64encode(cert_der).decode("ascii")}


def accepted_cert(body: Any) -> bytes | None:
    """The receiver's certificate (DER) from an ``accept``'s ``fast`` field."""
    fast = body.get("fast") if isinstance(body, dict) else None
    cert = fast.get("cert") if isinstance(fast, dict) else None
    if not isinstance(cert, str) or not cert or len(cert) > MAX_CERT_CHARS:
        return None
    try:
        return base64.b64decode(cert, validate=True)
    except (binascii.Error, ValueError):
        return None


def hello(transfer: str, fingerprint: str | None = None) -> bytes:
    """The first line: the transfer, and the fingerprint of the certificate the receiver
    will show (so the sender can wait for that receiver's accept, not just anyone's)."""
    tail = f" {fingerprint}" if fingerprint else ""
    return HELLO_PREFIX + (transfer + tail).encode("ascii") + b"\n"


def parse_hello(line: bytes) -> tuple[str, str | None] | None:
    """The transfer a connection asks for and the fingerprint it names (or ``None``),
    from its first line; ``None`` when the line is not a hello."""
    if len(line) > MAX_HELLO_BYTES or not line.startswith(HELLO_PREFIX):
        return None
    transfer, _, tail = line[len(HELLO_PREFIX) :].rstrip(b"\n").partition(b" ")
    if not _TRANSFER.fullmatch(transfer):
        return None
    fingerprint = tail.decode("ascii") if _FINGERPRINT.match(tail.decode("latin-1")) else None
    return transfer.decode("ascii"), fingerprint


def next_frame(transfer: str) -> str:
    return json.dumps({"t": "next", "transfer": transfer}, separators=(",", ":"))


def parse_next(text: str) -> str | None:
    """The transfer a :func:`next_frame` names, or ``None`` (another frame, or garbage)."""
    if not text.startswith('{"t":"next"'):
        return None
    try:
        transfer = json.loads(text).get("transfer")
    except (ValueError, AttributeError):
        return None
    ok = isinstance(transfer, str) and _TRANSFER.fullmatch(transfer.encode("ascii", "replace"))
    return transfer if ok else None


def frame_header(kind: int, length: int) -> bytes:
    return FRAME_HEADER.pack(kind, length)


def parse_frame_header(header: bytes) -> tuple[int, int] | None:
    """A frame's kind and length, or ``None`` for an unknown kind or an oversized frame
    (the connection is then dropped: nothing on this stream is ever that large)."""
    kind, length = FRAME_HEADER.unpack(header)
    limit = MAX_FRAME.get(kind)
    return (kind, length) if limit is not None and length <= limit else None

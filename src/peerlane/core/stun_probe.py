"""STUN Binding and TURN Allocate for ``peerlane doctor`` (RFC 8489 / RFC 8656), sans-I/O.

Builds the requests and reads the answers; the driver (``peerlane.peer.doctor``) sends
them over UDP, TCP or TLS, keeps the time and hands in the transaction ids. A TURN
Allocate uses the long-term credential mechanism: the first request goes without
credentials, the server answers 401 with REALM and NONCE, the retry carries USERNAME,
REALM, NONCE and MESSAGE-INTEGRITY; a Refresh with LIFETIME 0 frees the allocation.

(The "turn" task writes a STUN/TURN client for the server's health checks in core/ too;
the two are to be merged into one module.)
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct
from dataclasses import dataclass
from urllib.parse import parse_qs

MAGIC = 0x2112A442
HEADER = struct.Struct("!HHI12s")
BINDING_REQUEST, BINDING_SUCCESS = 0x0001, 0x0101
ALLOCATE_REQUEST, ALLOCATE_SUCCESS, ALLOCATE_ERROR = 0x0003, 0x0103, 0x0113
REFRESH_REQUEST = 0x0004

USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, LIFETIME = 0x0006, 0x0008, 0x0009, 0x000D
REALM, NONCE, XOR_RELAYED_ADDRESS = 0x0014, 0x0015, 0x0016
REQUESTED_TRANSPORT, XOR_MAPPED_ADDRESS = 0x0019, 0x0020
UDP = 17


class StunError(ValueError):
    """An answer that is not a well-formed STUN message for the request."""


@dataclass(frozen=True, slots=True)
class IceUrl:
    """One ``stun:`` / ``turn:`` / ``turns:`` URL (RFC 7064 / 7065)."""

    scheme: str  # "stun" | "turn" | "turns"
    host: str
    port: int
    transport: str  # "udp" | "tcp" | "tls"

    @property
    def label(self) -> str:
        kind = "STUN" if self.scheme == "stun" else "TURN"
        return f"{kind} {self.transport.upper()} {self.host}:{self.port}"


def parse_ice_url(url: str) -> IceUrl | None:
    """``turn:host:3478?transport=tcp`` → IceUrl; ``None`` for what is not one."""
    scheme, _, rest = url.partition(":")
    if scheme not in ("stun", "turn", "turns") or not rest:
        return None
    where, _, query = rest.partition("?")
    if where.startswith("["):  # an IPv6 literal
        host, _, after = where[1:].partition("]")
        port_text = after.removeprefix(":")
    else:
        host, _, port_text = where.rpartition(":") if ":" in where else (where, "", "")
    default = 5349 if scheme == "turns" else 3478
    if not host or (port_text and not port_text.isdigit()):
        return None
    port = int(port_text) if port_text else default
    if not 0 < port < 65536:
        return None
    wanted = parse_qs(query).get("transport", ["udp"])[0].lower()
    if scheme == "turns":
        transport = "tls"
    elif scheme == "turn" and wanted == "tcp":
        transport = "tcp"
    else:
        transport = "udp"
    return IceUrl(scheme, host, port, transport)


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def _message(kind: int, txid: bytes, attributes: bytes) -> bytes:
    if len(txid) != 12:
        raise ValueError("a transaction id is 12 bytes")
    return HEADER.pack(kind, len(attributes), MAGIC, txid) + attributes


def binding_request(txid: bytes) -> bytes:
    return _message(BINDING_REQUEST, txid, b"")


def long_term_key(username: str, realm: str, password: str) -> bytes:
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).digest()  # noqa: S324 (RFC 8489)


def _with_integrity(kind: int, txid: bytes, attributes: bytes, key: bytes) -> bytes:
    # The length in the header counts MESSAGE-INTEGRITY (24 bytes) when it is computed.
    head = HEADER.pack(kind, len(attributes) + 24, MAGIC, txid)
    mac = hmac.new(key, head + attributes, hashlib.sha1).digest()
    return _message(kind, txid, attributes + _attribute(MESSAGE_INTEGRITY, mac))


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str
    realm: str = ""
    nonce: bytes = b""

    def _attributes(self) -> bytes:
        return (
            _attribute(USERNAME, self.username.encode())
            + _attribute(REALM, self.realm.encode())
            + _attribute(NONCE, self.nonce)
        )

    @property
    def key(self) -> bytes:
        return long_term_key(self.username, self.realm, self.password)


def allocate_request(txid: bytes, credentials: Credentials | None = None) -> bytes:
    """Allocate a UDP relay; without ``credentials`` (or before the realm is known) the
    first, unauthenticated request that draws the server's 401."""
    transport = _attribute(REQUESTED_TRANSPORT, bytes([UDP, 0, 0, 0]))
    if credentials is None or not credentials.realm:
        return _message(ALLOCATE_REQUEST, txid, transport)
    attributes = transport + credentials._attributes()
    return _with_integrity(ALLOCATE_REQUEST, txid, attributes, credentials.key)


def refresh_request(txid: bytes, credentials: Credentials) -> bytes:
    """Free the allocation (LIFETIME 0)."""
    attributes = _attribute(LIFETIME, struct.pack("!I", 0)) + credentials._attributes()
    return _with_integrity(REFRESH_REQUEST, txid, attributes, credentials.key)


@dataclass(frozen=True, slots=True)
class Answer:
    kind: int
    txid: bytes
    attributes: dict[int, bytes]

    @property
    def error(self) -> tuple[int, str] | None:
        value = self.attributes.get(ERROR_CODE)
        if value is None or len(value) < 4:
            return None
        return value[2] * 100 + value[3], value[4:].decode(errors="replace")

    def address(self, kind: int = XOR_MAPPED_ADDRESS) -> tuple[str, int] | None:
        """An XOR-…-ADDRESS attribute as (address, port)."""
        value = self.attributes.get(kind)
        if value is None or len(value) < 8:
            return None
        family, xport = struct.unpack("!xBH", value[:4])
        port = xport ^ (MAGIC >> 16)
        mask = struct.pack("!I", MAGIC) + self.txid
        raw = value[4 : 4 + (4 if family == 1 else 16)]
        if len(raw) not in (4, 16):
            return None
        address = bytes(a ^ b for a, b in zip(raw, mask, strict=False))
        return str(ipaddress.ip_address(address)), port

    def challenge(self, username: str, password: str) -> Credentials | None:
        """The credentials to retry with, from a 401's REALM and NONCE."""
        realm, nonce = self.attributes.get(REALM), self.attributes.get(NONCE)
        if realm is None or nonce is None:
            return None
        return Credentials(username, password, realm.decode(errors="replace"), nonce)


def message_length(header: bytes) -> int:
    """The whole message's length from its first 20 bytes (for a stream transport)."""
    if len(header) < HEADER.size:
        raise StunError("a STUN header is 20 bytes")
    return HEADER.size + int(struct.unpack("!H", header[2:4])[0])


def parse(data: bytes, txid: bytes) -> Answer:
    """Read an answer to the request ``txid``; :class:`StunError` if it is not one."""
    if len(data) < HEADER.size:
        raise StunError("too short for STUN")
    kind, length, magic, got = HEADER.unpack(data[: HEADER.size])
    if magic != MAGIC or got != txid or len(data) < HEADER.size + length:
        raise StunError("not an answer to this request")
    attributes: dict[int, bytes] = {}
    at, end = HEADER.size, HEADER.size + length
    while at + 4 <= end:
        a_kind, a_len = struct.unpack("!HH", data[at : at + 4])
        attributes.setdefault(a_kind, data[at + 4 : at + 4 + a_len])
        at += 4 + a_len + (-a_len % 4)
    return Answer(kind, txid, attributes)

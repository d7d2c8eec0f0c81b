"""A small STUN/TURN client (RFC 8489 / RFC 8656), sans-I/O: build requests, read answers.

The one client for the TURN health check (server/turn_health.py), ``peerlane doctor``
(peer/doctor.py) and the reflexive-address probe: the ``stun:``/``turn:``/``turns:`` URLs
they are given, Binding, and an
Allocate with the long-term credential mechanism (the first request goes without
credentials, the server answers 401 with a realm and a nonce, the retry carries
USERNAME, REALM, NONCE and MESSAGE-INTEGRITY), then a Refresh with lifetime 0 that frees
the allocation. Every request ends with FINGERPRINT. The caller does the sending and
receiving, the timing, and hands in the random transaction ids.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import ipaddress
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

MAGIC = 0x2112A442
HEADER = struct.Struct("!HHI12s")

BINDING, ALLOCATE, REFRESH = 0x001, 0x003, 0x004
REQUEST, INDICATION, SUCCESS, ERROR = 0, 1, 2, 3

MAPPED_ADDRESS = 0x0001
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
LIFETIME = 0x000D
REALM = 0x0014
NONCE = 0x0015
XOR_RELAYED_ADDRESS = 0x0016
REQUESTED_TRANSPORT = 0x0019
XOR_MAPPED_ADDRESS = 0x0020
SOFTWARE = 0x8022
FINGERPRINT = 0x8028

UDP_PROTOCOL = 17
FINGERPRINT_XOR = 0x5354554E


@dataclass(frozen=True, slots=True)
class IceUrl:
    """One ``stun:`` / ``turn:`` / ``turns:`` URL (RFC 7064 / 7065)."""

    scheme: str  # "stun" | "turn" | "turns"
    host: str
    port: int
    transport: str  # "udp" | "tcp" | "tls"

    @property
    def label(self) -> str:
        """How reports name it: ``TURN TCP host:3478``."""
        kind = "STUN" if self.scheme == "stun" else "TURN"
        return f"{kind} {self.transport.upper()} {self.host}:{self.port}"

    @classmethod
    def parse(cls, url: str) -> IceUrl:
        """``turn:host:3478?transport=tcp`` → IceUrl (default ports 3478, 5349 for
        ``turns:``); ValueError for what is not one."""
        scheme, _, rest = url.partition(":")
        where, _, query = rest.partition("?")
        if where.startswith("["):  # an IPv6 literal
            host, _, after = where[1:].partition("]")
            port_text = after.removeprefix(":")
        else:
            host, _, port_text = where.rpartition(":") if ":" in where else (where, "", "")
        default = 5349 if scheme == "turns" else 3478
        port = int(port_text) if port_text.isdigit() else default if not port_text else 0
        if scheme not in ("stun", "turn", "turns") or not host or not 0 < port < 65536:
            raise ValueError(f"not a STUN or TURN URL: {url!r}")
        wanted = parse_qs(query).get("transport", ["udp"])[0].lower()
        if scheme == "turns":
            transport = "tls"
        elif scheme == "turn" and wanted == "tcp":
            transport = "tcp"
        else:
            transport = "udp"
        return cls(scheme, host, port, transport)


def message_type(method: int, cls: int) -> int:
    return (
        (method & 0x000F)
        | ((method & 0x0070) << 1)
        | ((method & 0x0F80) << 2)
        | ((cls & 1) << 4)
        | ((cls & 2) << 7)
    )


def split_type(kind: int) -> tuple[int, int]:
    method = (kind & 0x000F) | ((kind >> 1) & 0x0070) | ((kind >> 2) & 0x0F80)
    cls = ((kind >> 4) & 1) | ((kind >> 7) & 2)
    return method, cls


def long_term_key(username: str, realm: str, password: str) -> bytes:
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).digest()  # noqa: S324


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def encode(
    method: int,
    cls: int,
    txid: bytes,
    attributes: list[tuple[int, bytes]],
    *,
    key: bytes | None = None,
    fingerprint: bool = True,
) -> bytes:
    """One STUN message; with ``key``, MESSAGE-INTEGRITY over everything before it."""
    body = b"".join(_attribute(kind, value) for kind, value in attributes)
    kind = message_type(method, cls)
    if key is not None:
        header = HEADER.pack(kind, len(body) + 24, MAGIC, txid)
        mac = hmac.new(key, header + body, hashlib.sha1).digest()
        body += _attribute(MESSAGE_INTEGRITY, mac)
    if fingerprint:
        header = HEADER.pack(kind, len(body) + 8, MAGIC, txid)
        crc = binascii.crc32(header + body) ^ FINGERPRINT_XOR
        body += _attribute(FINGERPRINT, struct.pack("!I", crc))
    return HEADER.pack(kind, len(body), MAGIC, txid) + body


@dataclass(frozen=True)
class Message:
    method: int
    cls: int
    txid: bytes
    attributes: dict[int, bytes]
    raw: bytes
    integrity_at: int | None = None  # offset of MESSAGE-INTEGRITY in ``raw``

    def text(self, kind: int) -> str | None:
        value = self.attributes.get(kind)
        return None if value is None else value.decode("utf-8", "replace")

    @property
    def error(self) -> tuple[int, str] | None:
        value = self.attributes.get(ERROR_CODE)
        if value is None or len(value) < 4:
            return None
        code = (value[2] & 0x07) * 100 + value[3]
        return code, value[4:].decode("utf-8", "replace")

    def address(self, kind: int) -> tuple[str, int] | None:
        """A (XOR-)MAPPED or XOR-RELAYED address as (host, port)."""
        value = self.attributes.get(kind)
        if value is None or len(value) < 8:
            return None
        family, port = value[1], struct.unpack("!H", value[2:4])[0]
        packed = value[4:]
        if kind != MAPPED_ADDRESS:
            port ^= MAGIC >> 16
            mask = struct.pack("!I", MAGIC) + self.txid
            packed = bytes(a ^ b for a, b in zip(packed, mask, strict=False))
        if family == 1 and len(packed) == 4:
            return str(ipaddress.IPv4Address(packed)), port
        if family == 2 and len(packed) == 16:
            return str(ipaddress.IPv6Address(packed)), port
        return None

    def verify(self, key: bytes) -> bool:
        """Does MESSAGE-INTEGRITY match ``key``? False when it is missing."""
        if self.integrity_at is None:
            return False
        start = self.integrity_at
        header = struct.pack("!HH", message_type(self.method, self.cls), start - 20 + 24)
        signed = header + self.raw[4:start]
        expected = hmac.new(key, signed, hashlib.sha1).digest()
        return hmac.compare_digest(expected, self.raw[start + 4 : start + 24])


def frame_length(head: bytes) -> int:
    """The whole length of the message whose first 20 bytes are ``head`` (for TCP)."""
    length: int = struct.unpack("!H", head[2:4])[0]
    return 20 + length


def decode(data: bytes) -> Message | None:
    """The STUN message in ``data``, or None for anything else (a malformed or foreign
    packet, a bad FINGERPRINT)."""
    if len(data) < 20 or data[0] & 0xC0:
        return None
    kind, length, magic, txid = HEADER.unpack_from(data)
    if magic != MAGIC or length % 4 or len(data) != 20 + length:
        return None
    attributes: dict[int, bytes] = {}
    integrity_at = None
    offset = 20
    while offset < len(data):  # 4-aligned, and the length is: a whole header fits
        attr, size = struct.unpack_from("!HH", data, offset)
        value = data[offset + 4 : offset + 4 + size]
        if len(value) != size:
            return None
        if attr == FINGERPRINT:
            head = struct.pack("!HH", kind, offset - 20 + 8)
            crc = binascii.crc32(head + data[4:offset]) ^ FINGERPRINT_XOR
            if size != 4 or struct.unpack("!I", value)[0] != crc:
                return None
        if attr == MESSAGE_INTEGRITY:
            integrity_at = offset
        attributes.setdefault(attr, value)
        offset += 4 + size + (-size % 4)
    method, cls = split_type(kind)
    return Message(method, cls, txid, attributes, data, integrity_at)


def binding_request(txid: bytes) -> bytes:
    return encode(BINDING, REQUEST, txid, [])


@dataclass(frozen=True)
class Allocated:
    relayed: tuple[str, int]
    mapped: tuple[str, int] | None
    lifetime: int


@dataclass(frozen=True)
class Failed:
    reason: str  # plain words, for logs and /readyz


@dataclass
class AllocateClient:
    """One Allocate with the long-term credential mechanism.

    ``start()`` gives the first request; every answer goes to ``receive()``, which gives
    the next request to send, the outcome, or None (not an answer to this client)."""

    username: str
    password: str
    new_txid: Callable[[], bytes]
    _txid: bytes = b""
    _realm: str | None = None
    _nonce: str | None = None
    _tries: int = 0
    _key: bytes | None = field(default=None, repr=False)

    def start(self) -> bytes:
        self._txid = self.new_txid()
        return encode(ALLOCATE, REQUEST, self._txid, [_transport()])

    def receive(self, data: bytes) -> bytes | Allocated | Failed | None:
        message = decode(data)
        if message is None or message.txid != self._txid or message.method != ALLOCATE:
            return None
        if message.cls == SUCCESS:
            if self._key is None or not message.verify(self._key):
                return Failed("the answer is not signed with our credentials")
            relayed = message.address(XOR_RELAYED_ADDRESS)
            if relayed is None:
                return Failed("the answer has no relayed address")
            lifetime = message.attributes.get(LIFETIME, b"\0\0\0\0")
            return Allocated(
                relayed, message.address(XOR_MAPPED_ADDRESS), struct.unpack("!I", lifetime)[0]
            )
        if message.cls != ERROR:
            return None
        code, reason = message.error or (0, "no error code")
        realm, nonce = message.text(REALM), message.text(NONCE)
        if code in (401, 438) and realm and nonce and self._tries < 2:
            if code == 401 and self._key is not None:
                return Failed("wrong credentials (401 after signing in)")
            self._tries += 1
            self._realm, self._nonce = realm, nonce
            self._key = long_term_key(self.username, realm, self.password)
            self._txid = self.new_txid()
            return self._signed(ALLOCATE, [_transport()])
        return Failed(f"error {code} {reason}".strip())

    def release(self) -> bytes:
        """A Refresh with lifetime 0: frees the allocation now rather than at its expiry."""
        self._txid = self.new_txid()
        return self._signed(REFRESH, [(LIFETIME, struct.pack("!I", 0))])

    def _signed(self, method: int, attributes: list[tuple[int, bytes]]) -> bytes:
        assert self._realm is not None
        assert self._nonce is not None
        assert self._key is not None
        signed = [
            *attributes,
            (USERNAME, self.username.encode()),
            (REALM, self._realm.encode()),
            (NONCE, self._nonce.encode()),
        ]
        return encode(method, REQUEST, self._txid, signed, key=self._key)


def _transport() -> tuple[int, bytes]:
    return REQUESTED_TRANSPORT, bytes([UDP_PROTOCOL, 0, 0, 0])

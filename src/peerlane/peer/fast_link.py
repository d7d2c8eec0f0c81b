"""The direct-TCP fast path's I/O (core/fast_path.py has the messages and the framing):
a self-signed TLS identity per process, the sender's listener and the receiver's
connection, both TLS 1.3 with the other end's key pinned from the room's signaling.

The sender trusts exactly the certificates of the receivers that accepted the transfer a
connection names; the receiver checks the sender's certificate fingerprint from the offer
before it sends anything. Any mismatch closes the connection (:class:`FastPathRefused`),
and the receiver then takes the data channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import secrets
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from peerlane.core import fast_path as fp
from peerlane.peer.rtc_config import interface_addresses

CONNECT_WITHIN_S = 3.0  # per address
HELLO_WITHIN_S = 10.0
STREAM_LIMIT = 4 * 1024 * 1024


class FastPathRefused(Exception):
    """The other end is not the one the signaling named (or said nothing sensible)."""


@dataclass(frozen=True)
class Identity:
    cert_der: bytes
    cert_pem: bytes
    key_pem: bytes

    @property
    def fingerprint(self) -> str:
        return fp.fingerprint(self.cert_der)

    def context(self, purpose: ssl.Purpose) -> ssl.SSLContext:
        server = purpose is ssl.Purpose.CLIENT_AUTH
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        with tempfile.TemporaryDirectory() as folder:  # ssl loads keys from files only
            cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            cert.write_bytes(self.cert_pem)
            key.touch(mode=0o600)
            key.write_bytes(self.key_pem)
            context.load_cert_chain(cert, key)
        return context


def listen_hosts(chosen: Sequence[str] | None) -> list[str]:
    """Where a sender listens: the ``--address`` choice, else every address of this
    machine but loopback (useless to a peer elsewhere), else loopback."""
    if chosen:
        return list(chosen)
    found = [a for addresses in interface_addresses().values() for a in addresses]
    outside = [a for a in found if not ipaddress.ip_address(a).is_loopback]
    return outside or found


def enabled() -> bool:
    """``PEERLANE_FAST_PATH=0`` turns the fast path off (the data channel only)."""
    return os.environ.get("PEERLANE_FAST_PATH", "1") != "0"


def new_identity() -> Identity:
    """A fresh P-256 key and a self-signed certificate for it (one per process)."""
    key = ec.generate_private_key(ec.SECP256R1())
    # A subject of its own: a sender trusting two receivers' certificates (one run killed,
    # run again) looks the issuer up by name, and with one shared name it checked the new
    # certificate against the old one's key and refused it.
    common_name = f"peerlane fast path {secrets.token_hex(8)}"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Identity(
        cert.public_bytes(serialization.Encoding.DER),
        cert.public_bytes(serialization.Encoding.PEM),
        key_pem,
    )


class FastStream:
    """One TLS connection carrying one transfer's frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def read_frame(self) -> str | bytes | None:
        """The next frame (text: control, bytes: data), ``None`` at the end or on garbage."""
        try:
            header = fp.parse_frame_header(await self.reader.readexactly(fp.FRAME_HEADER.size))
            if header is None:
                return None
            kind, length = header
            payload = await self.reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            return None
        if kind == fp.DATA:
            return payload
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return None

    async def pump(self, frames: asyncio.Queue[str | bytes | None]) -> None:
        """Every frame into ``frames``, then ``None`` (reading ahead of their use)."""
        while (frame := await self.read_frame()) is not None:
            await frames.put(frame)
        await frames.put(None)

    def send_control(self, text: str) -> None:
        data = text.encode("utf-8")
        self.writer.write(fp.frame_header(fp.CONTROL, len(data)) + data)

    def send_data(self, frame: bytes) -> None:
        self.writer.write(fp.frame_header(fp.DATA, len(frame)))
        self.writer.write(frame)

    async def drain(self) -> None:
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()


# --- the sender: listen ------------------------------------------------------------------

# transfer -> the certificates (DER) of the receivers that accepted it; waits for them
Authorize = Callable[[str], Awaitable[list[bytes]]]
Serve = Callable[[str, bytes, FastStream], Awaitable[None]]  # transfer, receiver cert


class FastListener:
    def __init__(self, identity: Identity, authorize: Authorize, serve: Serve) -> None:
        self.identity = identity
        self.authorize = authorize
        self.serve = serve
        self.addresses: list[tuple[str, int]] = []
        self._servers: list[asyncio.Server] = []

    async def start(self, hosts: Sequence[str]) -> None:
        """Listen on each host address (port chosen by the system); a host that cannot be
        listened on is left out."""
        for host in hosts:
            try:
                server = await asyncio.start_server(self._connected, host, 0, limit=STREAM_LIMIT)
            except OSError:
                continue
            self._servers.append(server)
            port = server.sockets[0].getsockname()[1]
            self.addresses.append((host, port))

    def candidates(self) -> fp.Candidates | None:
        if not self.addresses:
            return None
        return fp.Candidates(tuple(self.addresses), self.identity.fingerprint)

    def close(self) -> None:
        for server in self._servers:
            server.close()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            transfer, cert = await self._handshake(reader, writer)
        except (FastPathRefused, TimeoutError, OSError, ssl.SSLError, ValueError):
            writer.close()
            return
        stream = FastStream(reader, writer)
        try:
            await self.serve(transfer, cert, stream)
        finally:
            stream.close()

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[str, bytes]:
        async with asyncio.timeout(HELLO_WITHIN_S):
            transfer = fp.parse_hello(await reader.readline())
            if transfer is None:
                raise FastPathRefused("no hello")
            accepted = await self.authorize(transfer)
            if not accepted:
                raise FastPathRefused("nobody accepted this transfer")
            context = self.identity.context(ssl.Purpose.CLIENT_AUTH)
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(
                cadata="".join(ssl.DER_cert_to_PEM_cert(c) for c in accepted)
            )
            writer.write(fp.READY)  # only then does the receiver start TLS: nothing of
            await writer.start_tls(context)  # its handshake is left in the plain reader
        peer = _peer_cert(writer)
        if peer not in accepted:
            raise FastPathRefused("not an accepted receiver")
        return transfer, peer


# --- the receiver: connect ---------------------------------------------------------------


async def connect(identity: Identity, candidates: fp.Candidates, transfer: str) -> FastStream:
    """A pinned TLS connection to the first address that answers, having said which
    transfer; :class:`FastPathRefused` or ``OSError`` when none does."""
    context = identity.context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the fingerprint from the offer is checked instead
    error: Exception = OSError("no address")
    for host, port in candidates.addresses:
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(CONNECT_WITHIN_S):
                reader, writer = await asyncio.open_connection(host, port, limit=STREAM_LIMIT)
                writer.write(fp.hello(transfer))
                if await reader.readline() != fp.READY:
                    raise FastPathRefused("the sender did not take this transfer")
                await writer.start_tls(context)
            if fp.fingerprint(_peer_cert(writer)) != candidates.fingerprint:
                raise FastPathRefused("the sender's key is not the one its offer named")
            return FastStream(reader, writer)
        except (OSError, TimeoutError, ssl.SSLError, FastPathRefused) as exc:
            error = exc
            if writer is not None:
                writer.close()
    raise error


def _peer_cert(writer: asyncio.StreamWriter) -> bytes:
    ssl_object = writer.get_extra_info("ssl_object")
    cert = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not cert:
        raise FastPathRefused("no certificate")
    return bytes(cert)


async def close_quietly(stream: FastStream) -> None:
    stream.close()
    with contextlib.suppress(Exception):
        await stream.writer.wait_closed()

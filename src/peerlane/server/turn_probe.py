"""The I/O around ``core.stun.AllocateClient``: one real Allocate over UDP, TCP or TLS."""

from __future__ import annotations

import asyncio
import os
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs

from peerlane.core.stun import AllocateClient, Allocated, Failed, frame_length

RETRANSMIT = 0.5  # seconds between UDP retransmissions (RFC 8489 starts at 0.5 s)


@dataclass(frozen=True)
class TurnUrl:
    host: str
    port: int
    transport: str  # udp, tcp or tls

    @classmethod
    def parse(cls, url: str) -> TurnUrl:
        """``turn:host:port?transport=tcp`` or ``turns:host:port`` (default ports 3478/5349)."""
        scheme, _, rest = url.partition(":")
        address, _, query = rest.partition("?")
        transport = parse_qs(query).get("transport", ["udp"])[0].lower()
        tls = scheme == "turns"
        if address.startswith("["):
            host, _, port_text = address[1:].partition("]")
            port_text = port_text.removeprefix(":")
        elif address.count(":") == 1:
            host, port_text = address.split(":")
        else:
            host, port_text = address, ""
        port = int(port_text) if port_text else (5349 if tls else 3478)
        return cls(host, port, "tls" if tls else ("tcp" if transport == "tcp" else "udp"))


async def allocate(url: TurnUrl, username: str, password: str, *, seconds: float) -> str | None:
    """Allocate a relay through ``url`` and free it again: None when it worked, else why not."""
    client = AllocateClient(username, password, lambda: os.urandom(12))
    try:
        async with asyncio.timeout(seconds):
            if url.transport == "udp":
                outcome = await _over_udp(url, client)
            else:
                outcome = await _over_stream(url, client)
    except TimeoutError:
        return f"no answer within {seconds:g} s"
    except OSError as exc:
        return f"cannot reach {url.host}:{url.port} ({exc.strerror or type(exc).__name__})"
    return outcome.reason if isinstance(outcome, Failed) else None


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes | Exception] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.received.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        self.received.put_nowait(exc)  # e.g. ICMP port unreachable: the server is not there


async def _over_udp(url: TurnUrl, client: AllocateClient) -> Allocated | Failed:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        _Datagrams, remote_addr=(url.host, url.port)
    )
    try:
        request = client.start()
        while True:
            transport.sendto(request)
            try:
                async with asyncio.timeout(RETRANSMIT):
                    answer = await protocol.received.get()
            except TimeoutError:
                continue  # lost on the way: send the same request again
            if isinstance(answer, Exception):
                raise answer
            step = client.receive(answer)
            if isinstance(step, bytes):
                request = step
            elif isinstance(step, Allocated):
                transport.sendto(client.release())
                return step
            elif isinstance(step, Failed):
                return step
    finally:
        transport.close()


async def _over_stream(url: TurnUrl, client: AllocateClient) -> Allocated | Failed:
    tls = ssl.create_default_context() if url.transport == "tls" else None
    reader, writer = await asyncio.open_connection(url.host, url.port, ssl=tls)
    try:
        writer.write(client.start())
        while True:
            head = await reader.readexactly(20)
            body = await reader.readexactly(frame_length(head) - 20)
            step = client.receive(head + body)
            if isinstance(step, bytes):
                writer.write(step)
            elif isinstance(step, Allocated):
                writer.write(client.release())
                await writer.drain()
                return step
            elif isinstance(step, Failed):
                return step
    except asyncio.IncompleteReadError:
        return Failed("the server closed the connection")
    finally:
        writer.close()

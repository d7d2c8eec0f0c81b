"""The I/O around ``core.stun``: one real TURN Allocate over UDP, TCP or TLS, and STUN
Binding requests over UDP (for the TURN health check and ``peerlane doctor``)."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from dataclasses import dataclass

from peerlane.core import stun
from peerlane.core.stun import AllocateClient, Allocated, Failed, IceUrl, frame_length

RETRANSMIT = 0.5  # seconds between UDP retransmissions (RFC 8489 starts at 0.5 s)


async def allocate(url: IceUrl, username: str, password: str, *, seconds: float) -> str | None:
    """Allocate a relay through ``url`` and free it again: None when it worked, else why not."""
    outcome = await allocation(url, username, password, seconds=seconds)
    return outcome.reason if isinstance(outcome, Failed) else None


async def allocation(
    url: IceUrl, username: str, password: str, *, seconds: float
) -> Allocated | Failed:
    """Allocate a relay through ``url`` and free it again: where it was, or why not."""
    client = AllocateClient(username, password, lambda: os.urandom(12))
    try:
        async with asyncio.timeout(seconds):
            if url.transport == "udp":
                return await _over_udp(url, client)
            return await _over_stream(url, client)
    except TimeoutError:
        return Failed(f"no answer within {seconds:g} s")
    except OSError as exc:
        return Failed(f"cannot reach {url.host}:{url.port} ({exc.strerror or type(exc).__name__})")


@dataclass(frozen=True)
class Binding:
    """A STUN server's answer: the address it saw (None: see ``problem``), and this
    machine's own address toward it."""

    mapped: tuple[str, int] | None
    local: str = ""
    problem: str = ""


async def bindings(urls: list[IceUrl], *, seconds: float) -> dict[IceUrl, Binding]:
    """One STUN Binding to each of ``urls`` from one UDP socket: the same socket, so the
    answers tell whether the NAT's mapping depends on the destination."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(_Datagrams, family=socket.AF_INET)
    try:
        return {url: await _binding(transport, protocol, url, seconds) for url in urls}
    finally:
        transport.close()


async def _binding(
    transport: asyncio.DatagramTransport, protocol: _Datagrams, url: IceUrl, seconds: float
) -> Binding:
    txid = os.urandom(12)
    request = stun.binding_request(txid)
    try:
        async with asyncio.timeout(seconds):
            found = await asyncio.get_running_loop().getaddrinfo(
                url.host, url.port, family=socket.AF_INET, type=socket.SOCK_DGRAM
            )
            where = (str(found[0][4][0]), int(found[0][4][1]))  # AF_INET: (host, port)
            local = _local_address(where)
            while True:
                answer = await _exchange(transport, protocol, request, where)
                message = stun.decode(answer)
                if message is None or message.txid != txid:
                    continue  # a stray datagram (an earlier transaction's answer)
                mapped = message.address(stun.XOR_MAPPED_ADDRESS)
                if message.cls != stun.SUCCESS or mapped is None:
                    return Binding(None, local, "answered without an address")
                return Binding(mapped, local)
    except TimeoutError:
        return Binding(None, problem=f"no answer within {seconds:g} s")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return Binding(None, problem=f"cannot reach {url.host}:{url.port} ({reason})")


def _local_address(where: tuple[str, int]) -> str:
    """This machine's address on the route to ``where`` (a connected UDP socket sends
    nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(where)
        return str(probe.getsockname()[0])


async def _exchange(
    transport: asyncio.DatagramTransport,
    protocol: _Datagrams,
    request: bytes,
    where: tuple[str, int] | None = None,
) -> bytes:
    """Send ``request`` (to ``where``, or the connected peer) until a datagram comes back,
    the next one received; a socket error (e.g. ICMP port unreachable) is raised."""
    while True:
        transport.sendto(request, where)
        try:
            async with asyncio.timeout(RETRANSMIT):
                answer = await protocol.received.get()
        except TimeoutError:
            continue  # lost on the way: send the same request again
        if isinstance(answer, Exception):
            raise answer
        return answer


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes | Exception] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.received.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        self.received.put_nowait(exc)  # e.g. ICMP port unreachable: the server is not there


async def _over_udp(url: IceUrl, client: AllocateClient) -> Allocated | Failed:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        _Datagrams, remote_addr=(url.host, url.port)
    )
    try:
        request = client.start()
        while True:
            step = client.receive(await _exchange(transport, protocol, request))
            if isinstance(step, bytes):
                request = step
            elif isinstance(step, Allocated):
                transport.sendto(client.release())
                return step
            elif isinstance(step, Failed):
                return step
    finally:
        transport.close()


async def _over_stream(url: IceUrl, client: AllocateClient) -> Allocated | Failed:
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

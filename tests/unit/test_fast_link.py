"""peer/fast_link.py on loopback: the pinned TLS connection carries frames both ways; a
sender whose key is not the offer's, a receiver whose certificate was not accepted and a
transfer nobody accepted are all refused before a byte of the file moves."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from peerlane.core import fast_path as fp
from peerlane.peer.fast_link import (
    FastListener,
    FastPathRefused,
    FastStream,
    Identity,
    close_quietly,
    connect,
    new_identity,
)

TRANSFER = "t1"


async def _listener(sender: Identity, accepted: dict[str, list[bytes]]) -> FastListener:
    async def authorize(transfer: str) -> list[bytes]:
        return accepted.get(transfer, [])

    async def serve(transfer: str, cert: bytes, stream: FastStream) -> None:
        frame = await stream.read_frame()
        stream.send_control(f"{transfer}:{fp.fingerprint(cert)}:{frame!r}")
        stream.send_data(b"\x00" * 8 + b"payload")
        await stream.drain()

    listener = FastListener(sender, authorize, serve)
    await listener.start(["127.0.0.1"])
    return listener


async def test_the_pinned_connection_carries_frames_both_ways() -> None:
    sender, receiver = new_identity(), new_identity()
    listener = await _listener(sender, {TRANSFER: [receiver.cert_der]})
    candidates = listener.candidates()
    assert candidates is not None
    stream = await connect(receiver, candidates, TRANSFER)
    stream.send_control('{"t":"want","from":0,"hashes":true}')
    assert await stream.read_frame() == (
        f'{TRANSFER}:{receiver.fingerprint}:\'{{"t":"want","from":0,"hashes":true}}\''
    )
    assert await stream.read_frame() == b"\x00" * 8 + b"payload"
    assert await stream.read_frame() is None  # the sender closed
    await close_quietly(stream)
    listener.close()


async def test_a_sender_whose_key_is_not_the_offers_is_refused() -> None:
    sender, receiver, other = new_identity(), new_identity(), new_identity()
    listener = await _listener(sender, {TRANSFER: [receiver.cert_der]})
    candidates = listener.candidates()
    assert candidates is not None
    tampered = dataclasses.replace(candidates, fingerprint=other.fingerprint)
    with pytest.raises(FastPathRefused, match="not the one its offer named"):
        await connect(receiver, tampered, TRANSFER)
    listener.close()


@pytest.mark.parametrize("accepted", [{TRANSFER: []}, {"other": ["receiver"]}])
async def test_a_transfer_nobody_accepted_is_refused(accepted: dict[str, list[str]]) -> None:
    sender, receiver = new_identity(), new_identity()
    certs = {t: [receiver.cert_der for _ in v] for t, v in accepted.items()}
    listener = await _listener(sender, certs)
    candidates = listener.candidates()
    assert candidates is not None
    with pytest.raises(FastPathRefused, match="did not take this transfer"):
        await connect(receiver, candidates, TRANSFER)
    listener.close()


async def test_a_receiver_whose_certificate_was_not_accepted_gets_nothing() -> None:
    sender, receiver, stranger = new_identity(), new_identity(), new_identity()
    listener = await _listener(sender, {TRANSFER: [receiver.cert_der]})
    candidates = listener.candidates()
    assert candidates is not None
    try:  # TLS 1.3: the client learns of the refusal when it reads
        stream = await connect(stranger, candidates, TRANSFER)
    except (OSError, FastPathRefused):
        listener.close()
        return
    stream.send_control("{}")
    assert await asyncio.wait_for(stream.read_frame(), 10) is None
    await close_quietly(stream)
    listener.close()


async def test_an_unreachable_address_is_an_os_error() -> None:
    listener = await _listener(new_identity(), {})
    candidates = listener.candidates()
    assert candidates is not None
    listener.close()
    with pytest.raises(OSError):  # noqa: PT011 - refused or reset, either will do
        await connect(new_identity(), candidates, TRANSFER)


async def test_the_second_of_two_accepted_receivers_connects_too() -> None:
    """A receiver killed and run again: its first certificate and the new one are both
    accepted, and the new one must verify (two self-signed certificates with one subject
    name made OpenSSL check the new one against the first, and refuse it)."""
    sender, first, second = new_identity(), new_identity(), new_identity()
    listener = await _listener(sender, {TRANSFER: [first.cert_der, second.cert_der]})
    candidates = listener.candidates()
    assert candidates is not None
    stream = await connect(second, candidates, TRANSFER)
    stream.send_control("{}")
    assert await stream.read_frame() == f"{TRANSFER}:{second.fingerprint}:'{{}}'"
    await close_quietly(stream)
    listener.close()

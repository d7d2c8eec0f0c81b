"""A fast-path connection carries the next file (core/fast_path.py's ``next`` frame) only
when its certificate accepted that transfer too: peer/fast_send.py's side of the sender on loopback,
a receiver speaking the frames by hand."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from peerlane.core import fast_path as fp
from peerlane.peer import fast_send, file_send
from peerlane.peer.fast_link import FastListener, FastStream, close_quietly, connect, new_identity
from peerlane.peer.outgoing import prepare


async def _one_file(stream: FastStream) -> list[Any]:
    """want → hashes and the block → ok → end; the frames the sender sent."""
    stream.send_control('{"t":"want","from":0,"hashes":true}')
    frames: list[Any] = [await stream.read_frame(), await stream.read_frame()]
    stream.send_control('{"t":"ok","block":0}')
    frames.append(await stream.read_frame())
    return frames


@pytest.mark.parametrize("accepted", [True, False])
async def test_the_next_file_on_a_connection_only_when_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, accepted: bool
) -> None:
    monkeypatch.setattr(fast_send, "HELLO_WITHIN_S", 0.5)  # the wait for a late accept
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name * 3)
    files = await prepare([(tmp_path / n, n) for n in ("a.txt", "b.txt")], "B")
    room = SimpleNamespace(encrypted=False)  # the fast path's own frames only: no room
    sender = file_send.Sender(room, files, lambda _n: None, 10.0)  # type: ignore[arg-type]
    receiver, stranger = new_identity(), new_identity()
    first, second = files
    first.fast_certs[receiver.cert_der] = "bob"
    second.fast_certs[(receiver if accepted else stranger).cert_der] = "bob"
    for item in files:
        item.fast_accepted.set()
    listener = FastListener(new_identity(), sender._fast_authorize, sender._serve_fast)
    await listener.start(["127.0.0.1"])
    candidates = listener.candidates()
    assert candidates is not None
    stream = await connect(receiver, candidates, first.offer.transfer)
    hashes, data, end = await _one_file(stream)
    assert json.loads(str(hashes))["hashes"] == first.hashes[0]
    assert isinstance(data, bytes)
    assert data.endswith(b"a.txta.txta.txt")
    assert json.loads(str(end)) == {"t": "end"}
    stream.send_control(fp.next_frame(second.offer.transfer))
    if accepted:
        hashes, data, end = await _one_file(stream)
        assert isinstance(data, bytes)
        assert data.endswith(b"b.txtb.txtb.txt")
        assert json.loads(str(end)) == {"t": "end"}
    else:
        stream.send_control('{"t":"want","from":0,"hashes":true}')
        assert await stream.read_frame() is None  # closed: nothing of b.txt
    assert sender.bytes_sent == (30 if accepted else 15)
    await close_quietly(stream)
    listener.close()

"""``peerlane receive`` and a batch offered one file at a time (a browser offers the files
picked together as it hashes each, every offer naming the batch and its count): the
question comes once, for the whole batch; the part that came is taken when the rest stays
away for BATCH_GAP_S (a file the browser could not read is never offered)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from peerlane.core import protocol as p
from peerlane.core import transfer_batch as tbatch
from peerlane.core.integrity import root_of_bytes
from peerlane.peer import PeerError, file_receive
from peerlane.peer.file_receive import Receiver
from peerlane.peer.http_api import Membership
from peerlane.peer.incoming import Candidate
from peerlane.peer.transfer_room import TransferRoom

NAMES = ["a.txt", "b.txt", "c.txt"]


def _offers() -> list[p.Message]:
    files = [(n, 4, root_of_bytes(n.encode()[:4]), "text/plain") for n in NAMES]
    [batch] = tbatch.offers_bodies("b1", files, peer="peer-a")
    return [
        p.Message(
            seq=i, id=f"m{i}", sender="p-alice", sender_name="alice", ts=0.0, kind="file", body=b
        )
        for i, b in enumerate(tbatch.expand(batch) or [], start=1)
    ]


def _receiver(tmp_path: Path, asked: list[list[str]]) -> Receiver:
    member = Membership("http://127.0.0.1:9", "r1", "", "p-bob", "bob", "token", {})
    room = TransferRoom(member, from_start=True)  # not run: its events are fed below
    alice = p.PeerInfo(peer_id="peer-a", participant_id="p-alice", name="alice", role="owner")
    room.peers = {"peer-a": alice}

    async def ask(candidates: list[Candidate]) -> bool:
        asked.append([c.offer.name for c in candidates])
        return False  # (declined: nothing is fetched)

    receiver = Receiver(
        room, tmp_path / "got", overwrite=False, ask=ask, start=lambda *_: None, advance=len
    )
    receiver.on_synced()
    return receiver


async def _declined(receiver: Receiver) -> None:
    """Until the question was asked and answered "no" (the room finishes with that)."""
    with pytest.raises(PeerError, match="declined"):
        async with asyncio.timeout(10):
            await receiver.room.finished
    await asyncio.gather(*receiver._tasks)


async def _turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_offers_that_trickle_in_are_asked_about_once_all_together(tmp_path: Path) -> None:
    asked: list[list[str]] = []
    receiver = _receiver(tmp_path, asked)
    for message in _offers():
        receiver.on_file_message(message)
        await _turns()  # each in a turn of its own, as a browser's come
    await _declined(receiver)
    assert asked == [NAMES]


async def test_the_part_of_a_batch_that_came_is_taken_after_the_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_receive, "BATCH_GAP_S", 0.3)
    asked: list[list[str]] = []
    receiver = _receiver(tmp_path, asked)
    for message in _offers()[:2]:
        receiver.on_file_message(message)
    await _turns()
    assert asked == []  # the third may still come
    await _declined(receiver)  # asked once the gap passed (and declined)
    assert asked == [NAMES[:2]]

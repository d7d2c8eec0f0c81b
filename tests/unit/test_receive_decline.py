"""``peerlane receive`` after a "no": the decline goes to the sender once and the question
is not asked again, though the offer is still in the room and its sender still there
(the receiver's links closing as it leaves call the receiver back: a second question
there was a thread reading the terminal that nobody answered, and the command hung)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from peerlane.core import protocol as p
from peerlane.core import transfer_batch as tbatch
from peerlane.core.integrity import root_of_bytes
from peerlane.peer import EXIT_DECLINED, PeerError
from peerlane.peer.file_receive import Receiver
from peerlane.peer.http_api import Membership
from peerlane.peer.incoming import Candidate
from peerlane.peer.transfer_room import TransferRoom

PLAN = b"the plan"


def _offer_messages() -> list[p.Message]:
    [batch] = tbatch.offers_bodies(
        "b1", [("plan.txt", len(PLAN), root_of_bytes(PLAN), "text/plain")], peer="peer-a"
    )
    bodies = tbatch.expand(batch) or []
    return [
        p.Message(
            seq=1, id="m1", sender="p-alice", sender_name="alice", ts=0.0, kind="file", body=b
        )
        for b in bodies
    ]


async def test_a_declined_offer_is_declined_once_and_not_asked_again(tmp_path: Path) -> None:
    member = Membership("http://127.0.0.1:9", "r1", "", "p-bob", "bob", "token", {})
    room = TransferRoom(member, from_start=True)  # not run: its events are fed below
    alice = p.PeerInfo(peer_id="peer-a", participant_id="p-alice", name="alice", role="owner")
    room.peers = {"peer-a": alice}
    asked: list[list[str]] = []

    async def ask(candidates: list[Candidate]) -> bool:
        asked.append([c.offer.name for c in candidates])
        return False

    receiver = Receiver(
        room, tmp_path / "got", overwrite=False, ask=ask, start=lambda *_: None, advance=len
    )
    receiver.on_synced()
    for message in _offer_messages():
        receiver.on_file_message(message)
    with pytest.raises(PeerError) as declined:
        async with asyncio.timeout(10):
            await room.finished
    assert declined.value.exit_code == EXIT_DECLINED
    # What the receiver does as it leaves: its links close, someone's presence changes.
    receiver.on_links_changed()
    receiver.on_synced()
    await asyncio.gather(*receiver._tasks)
    assert asked == [["plan.txt"]]
    sent = [chat.body for chat in room.chat.client.pending.values()]
    assert [b["op"] for b in sent if isinstance(b, dict)] == ["decline"]
    assert not (tmp_path / "got").exists()

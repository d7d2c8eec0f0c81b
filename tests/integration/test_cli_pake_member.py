"""The terminal as the member answering joins by code (peer/pake_member.py), driven with
the joiner's real CPace (core/pake.py) in place of the server's relay: right words get
the room key handed over for that joiner only; wrong words are rejected and counted per
invite, on disk; after the limit the code is no longer answered at all. (The whole path
through a server: tests/e2e/test_cli_pake.py.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from peerlane.core import e2e, pake
from peerlane.core.pake_handover import open_handover
from peerlane.peer.pake_member import FailureCounts, PakeMember, failure_text, pake_frame

WORDS = "amber-falcon"
KEY = e2e.RoomKey(os.urandom(32))


class Member:
    """A PakeMember with what it sent and said recorded."""

    def __init__(self, tmp: Path, *, max_failures: int = 100, key: bool = True) -> None:
        self.sent: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.asked: list[str] = []

        async def words_for(invite: str) -> str | None:
            self.asked.append(invite)
            return WORDS if invite == "inv1" else None

        self.answerer = PakeMember(
            "room1",
            "member1",
            self.sent.append,
            words_for,
            lambda: KEY if key else None,
            notice=self.notes.append,
            counts=FailureCounts(tmp / "peerlane" / "pake-failures.json"),
            max_failures=max_failures,
        )

    async def frame(self, **message: Any) -> dict[str, Any]:
        before = len(self.sent)
        await self.answerer.handle(message)
        assert len(self.sent) == before + 1, self.sent
        return self.sent[-1]


async def join(member: Member, words: str, attempt: bytes, invite: str = "inv1") -> Any:
    """One attempt as the joiner runs it; the member's last answer (admit or reject)."""
    sid = e2e.b64u_encode(attempt)
    joiner = pake.JoinerPake.start(
        words, invite_id=invite, joiner_id="joiner1", member_id="member1", sid=attempt
    )
    reply = await member.frame(
        type="pake.share",
        attempt=sid,
        invite=invite,
        joiner="joiner1",
        share=e2e.b64u_encode(joiner.share),
    )
    if reply["type"] == "pake.reject":
        return reply, None
    try:
        confirm, keys = joiner.finish(
            e2e.b64u_decode(reply["share"]), e2e.b64u_decode(reply["confirm"])
        )
    except pake.PakeFailed:
        await member.answerer.handle({"type": "pake.abort", "attempt": sid})
        return {"type": "aborted"}, None
    last = await member.frame(type="pake.confirm", attempt=sid, confirm=e2e.b64u_encode(confirm))
    return last, keys


async def test_right_words_hand_over_the_room_key_for_that_joiner(tmp_path: Path) -> None:
    member = Member(tmp_path)
    answer, keys = await join(member, "Amber Falcon", os.urandom(16))
    assert answer["type"] == "pake.admit", answer
    opened = open_handover(
        keys.handover_key, answer["handover"], room_id="room1", joiner_id="joiner1"
    )
    assert opened.secret == KEY.secret
    with pytest.raises(e2e.AuthFailed):  # bound to the joiner: nobody else opens it
        open_handover(keys.handover_key, answer["handover"], room_id="room1", joiner_id="x")
    assert member.answerer.admitted == ["joiner1"]
    assert member.notes == []


async def test_wrong_words_are_counted_on_disk_until_the_code_is_no_longer_answered(
    tmp_path: Path,
) -> None:
    member = Member(tmp_path, max_failures=2)
    answer, _ = await join(member, "bold-otter", os.urandom(16))
    assert answer["type"] == "aborted"  # the joiner saw the member's tag fail
    assert member.notes == [failure_text(1, 2)]
    assert "1 of 2 failed tries" in member.notes[0]
    # A new run (a new process) keeps the count: the file is the client's own record.
    again = Member(tmp_path, max_failures=2)
    assert again.answerer.counts.get("room1", "inv1") == 1
    answer, _ = await join(again, "bold-otter", os.urandom(16))
    assert "no longer answers" in again.notes[-1]
    # Past the limit even the right words get a reject, without the words looked up.
    asked = len(again.asked)
    answer, _ = await join(again, WORDS, os.urandom(16))
    assert answer["type"] == "pake.reject"
    assert len(again.asked) == asked
    # Another invite's count is its own (this client has no words for it: rejected).
    answer, _ = await join(again, WORDS, os.urandom(16), invite="inv2")
    assert answer["type"] == "pake.reject"


async def test_a_forged_confirmation_is_rejected_and_counted(tmp_path: Path) -> None:
    member = Member(tmp_path)
    attempt = os.urandom(16)
    sid = e2e.b64u_encode(attempt)
    joiner = pake.JoinerPake.start(
        WORDS, invite_id="inv1", joiner_id="joiner1", member_id="member1", sid=attempt
    )
    await member.frame(
        type="pake.share",
        attempt=sid,
        invite="inv1",
        joiner="joiner1",
        share=e2e.b64u_encode(joiner.share),
    )
    answer = await member.frame(
        type="pake.confirm", attempt=sid, confirm=e2e.b64u_encode(bytes(64))
    )
    assert answer == {"type": "pake.reject", "attempt": sid}
    assert member.answerer.counts.get("room1", "inv1") == 1
    # The attempt is over: a second confirm is not answered.
    await member.answerer.handle({"type": "pake.confirm", "attempt": sid, "confirm": "x"})
    assert len(member.sent) == 2


async def test_without_the_room_key_every_attempt_is_rejected_at_once(tmp_path: Path) -> None:
    member = Member(tmp_path, key=False)
    answer, _ = await join(member, WORDS, os.urandom(16))
    assert answer["type"] == "pake.reject"
    assert member.answerer.counts.get("room1", "inv1") == 0


def test_only_pake_frames_are_taken_from_the_room_socket() -> None:
    assert pake_frame('{"type": "pake.share", "attempt": "a"}') == {
        "type": "pake.share",
        "attempt": "a",
    }
    assert pake_frame('{"type": "message", "body": "pake.share"}') is None
    assert pake_frame('{"type": "message", "body": "\\"pake."}') is None
    assert pake_frame('"pake. not json') is None
    assert pake_frame(b'{"type": "pake.share"}') is None

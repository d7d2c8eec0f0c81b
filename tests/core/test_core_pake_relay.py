"""The server's relay of one join-by-code attempt (core/pake_relay.py), driven with real
CPace runs (core/pake.py) on both sides: the server relays, counts one guess per attempt,
refunds it on admission, and refuses anything out of order or malformed."""

from __future__ import annotations

import base64

import pytest

from peerlane.core.pake import JoinerPake, MemberPake
from peerlane.core.pake_relay import (
    Admit,
    CountGuess,
    RefundGuess,
    RelayAttempt,
    RelayRefused,
    Stage,
    ToJoiner,
    ToMember,
    decode_bytes,
)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: object) -> bytes:
    assert isinstance(text, str)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def started() -> RelayAttempt:
    attempt = RelayAttempt("att-1", "inv-1", "joiner")
    assert attempt.opened(["member", "other"]) == [
        ToJoiner(
            {
                "type": "pake.start",
                "attempt": "att-1",
                "invite": "inv-1",
                "joiner": "joiner",
                "member": "member",
            }
        )
    ]
    return attempt


def parties(joiner_words: str) -> tuple[JoinerPake, MemberPake]:
    ids = {"invite_id": "inv-1", "joiner_id": "joiner", "member_id": "member", "sid": b"att-1"}
    return JoinerPake.start(joiner_words, **ids), MemberPake.start("amber-falcon", **ids)


def through_reply(attempt: RelayAttempt, joiner: JoinerPake, member: MemberPake) -> bytes:
    """Relay the joiner's share and the member's reply; the joiner's confirmation back."""
    count, to_member = attempt.joiner_share(b64(joiner.share))
    assert count == CountGuess()
    assert isinstance(to_member, ToMember)
    assert to_member.member_id == "member"
    member_confirm = member.respond(unb64(to_member.message["share"]))
    (to_joiner,) = attempt.member_reply("member", b64(member.share), b64(member_confirm))
    assert isinstance(to_joiner, ToJoiner)
    reply = to_joiner.message
    confirm, _ = joiner.finish(unb64(reply["share"]), unb64(reply["confirm"]))
    return confirm


def test_right_code_admits_and_refunds_the_guess() -> None:
    attempt = started()
    joiner, member = parties("amber falcon")
    confirm = through_reply(attempt, joiner, member)
    (to_member,) = attempt.joiner_confirm(b64(confirm))
    assert isinstance(to_member, ToMember)
    member.confirm(unb64(to_member.message["confirm"]))
    assert attempt.member_admit("member", "sealed-room-key") == [
        RefundGuess(),
        Admit("sealed-room-key"),
    ]
    assert attempt.stage is Stage.ADMITTED


def test_wrong_code_fails_and_the_guess_stays_counted() -> None:
    attempt = started()
    joiner, member = parties("amber-fox")
    count, to_member = attempt.joiner_share(b64(joiner.share))
    assert count == CountGuess()
    assert isinstance(to_member, ToMember)
    member_confirm = member.respond(unb64(to_member.message["share"]))
    attempt.member_reply("member", b64(member.share), b64(member_confirm))
    # The joiner's check fails: it aborts; the member hears of it.
    assert attempt.joiner_abort() == [
        ToMember("member", {"type": "pake.abort", "attempt": "att-1"})
    ]
    assert attempt.stage is Stage.FAILED
    with pytest.raises(RelayRefused, match="failed"):
        attempt.joiner_confirm(b64(bytes(64)))


def test_member_rejects_a_confirmation() -> None:
    attempt = started()
    joiner, member = parties("amber falcon")
    through_reply(attempt, joiner, member)
    attempt.joiner_confirm(b64(bytes(64)))  # a joiner that lies about its check
    (failed,) = attempt.member_reject("member")
    assert isinstance(failed, ToJoiner)
    assert failed.message["type"] == "pake.failed"
    assert failed.message["error"] == {
        "code": "code_mismatch",
        "message": "That code is not right.",
    }


def test_no_member_online_waits_then_starts() -> None:
    attempt = RelayAttempt("att-2", "inv-1", "joiner")
    assert attempt.opened([]) == [ToJoiner({"type": "pake.waiting", "attempt": "att-2"})]
    assert attempt.stage is Stage.WAITING
    (start,) = attempt.member_online("late-member")
    assert isinstance(start, ToJoiner)
    assert start.message["member"] == "late-member"
    assert attempt.stage is Stage.STARTED


def test_a_joiner_giving_up_while_waiting_tells_no_member() -> None:
    attempt = RelayAttempt("att-3", "inv-1", "joiner")
    attempt.opened([])
    assert attempt.joiner_abort() == []
    with pytest.raises(RelayRefused) as refused:
        attempt.joiner_abort()
    assert refused.value.code == "bad_state"


def test_one_share_per_attempt() -> None:
    attempt = started()
    joiner, _ = parties("amber falcon")
    attempt.joiner_share(b64(joiner.share))
    with pytest.raises(RelayRefused) as refused:
        attempt.joiner_share(b64(joiner.share))
    assert refused.value.code == "bad_state"


def test_only_the_chosen_member_answers() -> None:
    attempt = started()
    joiner, member = parties("amber falcon")
    attempt.joiner_share(b64(joiner.share))
    with pytest.raises(RelayRefused) as refused:
        attempt.member_reply("other", b64(member.share), b64(bytes(64)))
    assert refused.value.code == "not_your_attempt"
    assert attempt.stage is Stage.SHARED


@pytest.mark.parametrize(
    "value",
    [
        None,
        7,
        "not base64!",
        b64(bytes(31)),
        b64(bytes(32)) + "=",
        b64(bytes(33)),
        "!" + b64(bytes(32)),
    ],
)
def test_malformed_shares_are_refused_and_do_not_advance(value: object) -> None:
    attempt = started()
    with pytest.raises(RelayRefused) as refused:
        attempt.joiner_share(value)
    assert refused.value.code == "bad_message"
    assert attempt.stage is Stage.STARTED


def test_malformed_confirmations_and_handovers_are_refused() -> None:
    attempt = started()
    joiner, member = parties("amber falcon")
    attempt.joiner_share(b64(joiner.share))
    with pytest.raises(RelayRefused, match="confirm must be 64 bytes"):
        attempt.member_reply("member", b64(member.share), b64(bytes(32)))
    attempt.member_reply("member", b64(member.share), b64(bytes(64)))
    with pytest.raises(RelayRefused, match="confirm"):
        attempt.joiner_confirm("")
    attempt.joiner_confirm(b64(bytes(64)))
    for handover in (None, "", "x" * 1025):
        with pytest.raises(RelayRefused, match="handover"):
            attempt.member_admit("member", handover)
    assert attempt.stage is Stage.CONFIRMED


def test_decode_bytes_accepts_unpadded_base64url() -> None:
    assert decode_bytes(b64(b"\xff" * 32), 32, "share") == b"\xff" * 32

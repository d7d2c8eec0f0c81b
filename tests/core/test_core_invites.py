"""Invite rules: which problem an invite has, in which order, and the error it raises."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from peerlane.core import invites
from peerlane.core.records import Invite
from peerlane.errors import ErrorCode, GoneError

NOW = 500.0


def make_invite(**changes: Any) -> Invite:
    base = Invite(
        id="inv-1",
        room_id="room-1",
        token_hash="tok-hash",
        nameplate=7,
        words_hash="words-hash",
        created_by="part-owner",
        created_at=0.0,
        expires_at=1000.0,
        max_uses=None,
    )
    return replace(base, **changes)


REVOKED = {"revoked_at": 100.0}
EXPIRED = {"expires_at": NOW}
EXHAUSTED = {"max_uses": 3, "uses": 3}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"max_uses": 3, "uses": 2}, None),
        ({"max_uses": None, "uses": 10**6}, None),
        ({"expires_at": NOW + 0.001}, None),
        ({"nameplate": None}, None),  # a retired code: the link still works
        (REVOKED, ErrorCode.INVITE_REVOKED),
        (EXPIRED, ErrorCode.INVITE_EXPIRED),
        ({"expires_at": 0.0}, ErrorCode.INVITE_EXPIRED),
        (EXHAUSTED, ErrorCode.INVITE_EXHAUSTED),
        ({"max_uses": 0}, ErrorCode.INVITE_EXHAUSTED),
        ({**REVOKED, **EXPIRED}, ErrorCode.INVITE_REVOKED),
        ({**REVOKED, **EXHAUSTED}, ErrorCode.INVITE_REVOKED),
        ({**EXPIRED, **EXHAUSTED}, ErrorCode.INVITE_EXPIRED),
        ({**REVOKED, **EXPIRED, **EXHAUSTED}, ErrorCode.INVITE_REVOKED),
    ],
)
def test_problem(changes: dict[str, Any], expected: ErrorCode | None) -> None:
    invite = make_invite(**changes)
    assert invites.problem(invite, NOW) is expected
    assert invites.is_live(invite, NOW) is (expected is None)


def test_live_invite_passes_check() -> None:
    invites.check(make_invite(), NOW)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (REVOKED, ErrorCode.INVITE_REVOKED),
        (EXPIRED, ErrorCode.INVITE_EXPIRED),
        (EXHAUSTED, ErrorCode.INVITE_EXHAUSTED),
    ],
)
def test_check_raises_gone(changes: dict[str, Any], code: ErrorCode) -> None:
    with pytest.raises(GoneError) as info:
        invites.check(make_invite(**changes), NOW)
    assert info.value.code is code
    assert info.value.http_status == 410
    assert info.value.to_dict()["error"]["code"] == code.value

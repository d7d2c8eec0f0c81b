"""The server's side of joining by code (docs/protocol.md, "Short codes by PAKE"): one
attempt's relay between a joiner and the member's client answering it, sans I/O.

The server never sees the code's words and cannot check a guess; what it can do is keep
each attempt to one guess and count it. :class:`RelayAttempt` takes the messages of both
sides in the order the flow allows and answers what the driver does next: relay a message
to the other side, count a guess against the code (when the joiner's share is relayed),
refund it (on admission), admit the joiner, or tell it the code failed. Anything out of
order or malformed is refused with an error code, and never advances the attempt.
Driven by ``server/pake_join.py`` (the joiner's ``/api/join/ws`` and members' room sockets).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from peerlane.core import base64url
from peerlane.core.pake import CONFIRM_BYTES, POINT_BYTES

MAX_HANDOVER_BYTES = 1024  # a sealed room key and its envelope, with room to spare


class Stage(enum.Enum):
    WAITING = "waiting"  # no member online yet
    STARTED = "started"  # a member is chosen; the joiner may send its share
    SHARED = "shared"  # the share went to the member: one guess counted
    REPLIED = "replied"  # the member's share and confirmation went to the joiner
    CONFIRMED = "confirmed"  # the joiner's confirmation went to the member
    ADMITTED = "admitted"
    FAILED = "failed"


class RelayRefused(Exception):
    """A message the attempt cannot take now; ``code`` is the error code to answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ToJoiner:
    message: dict[str, object]


@dataclass(frozen=True, slots=True)
class ToMember:
    member_id: str
    message: dict[str, object]


@dataclass(frozen=True, slots=True)
class CountGuess:
    """Count one guess against the code (per address and in total), before relaying."""


@dataclass(frozen=True, slots=True)
class RefundGuess:
    """The guess was right: take it back."""


@dataclass(frozen=True, slots=True)
class Admit:
    """Add the joiner as a participant, then send it its credentials with the hand-over."""

    handover: str


Output = ToJoiner | ToMember | CountGuess | RefundGuess | Admit


def decode_bytes(value: object, length: int, field: str) -> bytes:
    """A base64url field (no padding) of exactly ``length`` bytes, or ``bad_message``."""
    try:
        if not isinstance(value, str):
            raise ValueError(field)
        raw = base64url.decode(value)
    except ValueError:
        raise RelayRefused("bad_message", f"{field} is not base64url") from None
    if len(raw) != length:
        raise RelayRefused("bad_message", f"{field} must be {length} bytes")
    return raw


class RelayAttempt:
    """One attempt: the joiner's socket on one side, one member's client on the other."""

    def __init__(self, attempt_id: str, invite_id: str, joiner_id: str) -> None:
        self.attempt_id = attempt_id
        self.invite_id = invite_id
        self.joiner_id = joiner_id
        self.member_id: str | None = None
        self.stage = Stage.WAITING

    def _expect(self, *stages: Stage, sender: str | None = None) -> None:
        if self.stage not in stages:
            raise RelayRefused("bad_state", f"the attempt is {self.stage.value}")
        if sender is not None and sender != self.member_id:
            raise RelayRefused("not_your_attempt", "another member answers this attempt")

    def _message(self, kind: str, **fields: object) -> dict[str, object]:
        return {"type": kind, "attempt": self.attempt_id, **fields}

    def opened(self, members_online: list[str]) -> list[Output]:
        """The joiner opened the attempt: start with a member, or tell it to wait."""
        if not members_online:
            return [ToJoiner(self._message("pake.waiting"))]
        return self.member_online(members_online[0])

    def member_online(self, member_id: str) -> list[Output]:
        self._expect(Stage.WAITING)
        self.member_id = member_id
        self.stage = Stage.STARTED
        start = self._message(
            "pake.start", invite=self.invite_id, joiner=self.joiner_id, member=member_id
        )
        return [ToJoiner(start)]

    def joiner_share(self, share: object) -> list[Output]:
        self._expect(Stage.STARTED)
        decode_bytes(share, POINT_BYTES, "share")
        assert self.member_id is not None  # STARTED has a member
        self.stage = Stage.SHARED
        relayed = self._message("pake.share", invite=self.invite_id, joiner=self.joiner_id)
        return [CountGuess(), ToMember(self.member_id, {**relayed, "share": share})]

    def member_reply(self, member_id: str, share: object, confirm: object) -> list[Output]:
        self._expect(Stage.SHARED, sender=member_id)
        decode_bytes(share, POINT_BYTES, "share")
        decode_bytes(confirm, CONFIRM_BYTES, "confirm")
        self.stage = Stage.REPLIED
        return [ToJoiner(self._message("pake.reply", share=share, confirm=confirm))]

    def joiner_confirm(self, confirm: object) -> list[Output]:
        self._expect(Stage.REPLIED)
        decode_bytes(confirm, CONFIRM_BYTES, "confirm")
        assert self.member_id is not None
        self.stage = Stage.CONFIRMED
        return [ToMember(self.member_id, self._message("pake.confirm", confirm=confirm))]

    def joiner_abort(self) -> list[Output]:
        """The joiner's check of the member's confirmation failed (or it gave up after
        sending its share): the counted guess stays counted."""
        self._expect(Stage.WAITING, Stage.STARTED, Stage.SHARED, Stage.REPLIED, Stage.CONFIRMED)
        self.stage = Stage.FAILED
        if self.member_id is None:
            return []
        return [ToMember(self.member_id, self._message("pake.abort"))]

    def member_admit(self, member_id: str, handover: object) -> list[Output]:
        self._expect(Stage.CONFIRMED, sender=member_id)
        if not isinstance(handover, str) or not 0 < len(handover) <= MAX_HANDOVER_BYTES:
            raise RelayRefused("bad_message", "handover must be a short string")
        self.stage = Stage.ADMITTED
        return [RefundGuess(), Admit(handover)]

    def member_reject(self, member_id: str) -> list[Output]:
        """The member's client refused the joiner's share or its confirmation."""
        self._expect(Stage.SHARED, Stage.CONFIRMED, sender=member_id)
        self.stage = Stage.FAILED
        failed = {"code": "code_mismatch", "message": "That code is not right."}
        return [ToJoiner(self._message("pake.failed", error=failed))]

"""Invite rules: when an invite can be redeemed, and which error says why not."""

from __future__ import annotations

from peerlane.core.records import Invite
from peerlane.errors import ErrorCode, GoneError

# Checked in this order: a revoked invite says "revoked" even if it has also expired.
_RULES = (
    (lambda inv, now: inv.revoked_at is not None, ErrorCode.INVITE_REVOKED),
    (lambda inv, now: inv.expires_at <= now, ErrorCode.INVITE_EXPIRED),
    (
        lambda inv, now: inv.max_uses is not None and inv.uses >= inv.max_uses,
        ErrorCode.INVITE_EXHAUSTED,
    ),
)


def problem(invite: Invite, now: float) -> ErrorCode | None:
    """Why ``invite`` cannot be redeemed at ``now``, or ``None`` if it can."""
    for applies, code in _RULES:
        if applies(invite, now):
            return code
    return None


def check(invite: Invite, now: float) -> None:
    """Raise the matching :class:`GoneError` (HTTP 410) if ``invite`` is not redeemable."""
    if (code := problem(invite, now)) is not None:
        raise GoneError(code)


def is_live(invite: Invite, now: float) -> bool:
    return problem(invite, now) is None

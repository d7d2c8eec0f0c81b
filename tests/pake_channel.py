"""CPace's channel inputs for the interop tests (tests/web/test_pake_interop.py with node,
tests/e2e/test_pake_browser.py with Chromium): fresh ids each attempt, and the same values
spelled as web/e2e/pake.js takes them."""

from __future__ import annotations

import secrets
from typing import Any


def channel() -> dict[str, Any]:
    """Keyword arguments of core/pake.py's ``JoinerPake.start`` / ``MemberPake.start``."""
    return {
        "invite_id": "inv-" + secrets.token_hex(4),
        "joiner_id": "joiner-" + secrets.token_hex(4),
        "member_id": "member-" + secrets.token_hex(4),
        "sid": secrets.token_bytes(16),
    }


def js_channel(ids: dict[str, Any]) -> dict[str, str]:
    """The same channel as pake.js's ``{inviteId, joinerId, memberId, sid}`` (sid in hex)."""
    return {
        "inviteId": ids["invite_id"],
        "joinerId": ids["joiner_id"],
        "memberId": ids["member_id"],
        "sid": ids["sid"].hex(),
    }

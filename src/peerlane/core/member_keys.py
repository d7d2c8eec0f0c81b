"""Members' identity keys as this terminal sees them (sans-I/O; the browser's
``web/e2e/member-keys.js`` and the fetch of ``web/e2e/key-rotation.js``):

* trust on first use: the first key seen for a member is remembered; the same key again
  is nothing new; another key is a change, noted, and loud when this person had marked
  the member verified (the verification no longer holds: the new key was never
  compared, docs/protocol.md "Safety codes");
* the room keys wrapped to this member, opened with its identity key and each wrap's
  sender key, which must be the one remembered for that sender (a server that hands out
  another key as a member's cannot hand over a room key of its own making).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from peerlane.core import e2e
from peerlane.core.chat_crypto import RoomCrypto

Changed = Literal["", "changed", "verified-changed"]
KeyState = Literal["none", "new", "same", "changed"]


@dataclass(frozen=True, slots=True)
class KnownKey:
    """A member's key as remembered; ``changed``: it differs from the one remembered
    before ("verified-changed": and that one had been verified)."""

    key: str
    verified: bool = False
    changed: Changed = ""

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "verified": self.verified, "changed": self.changed}

    @classmethod
    def from_json(cls, data: Any) -> KnownKey | None:
        """A remembered record; None for anything that is not one (a damaged file)."""
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        changed = data.get("changed")
        return cls(
            data["key"],
            data.get("verified") is True,
            changed if changed in ("changed", "verified-changed") else "",
        )


def review_key(known: KnownKey | None, published: str | None) -> tuple[KeyState, KnownKey | None]:
    """Compare a member's published key with what is remembered: the state, and what to
    remember now (None: as it is)."""
    if not published:
        return "none", None
    if known is None:
        return "new", KnownKey(published)
    if known.key == published:
        return "same", None
    loud = known.verified or known.changed == "verified-changed"
    return "changed", KnownKey(published, False, "verified-changed" if loud else "changed")


def mark_verified(known: KnownKey) -> KnownKey:
    """The person compared the safety code and it matched."""
    return replace(known, verified=True, changed="")


def key_note(known: KnownKey | None) -> str:
    """What to say about a member's key next to their name."""
    if known is None:
        return ""
    if known.changed == "verified-changed":
        return (
            "WARNING: the security key of this verified person changed. Compare the "
            "safety code again before trusting them."
        )
    if known.changed == "changed":
        return "Their security key changed (a new device or browser?)."
    return ""


@dataclass(frozen=True, slots=True)
class Wrap:
    """A room key wrapped to this member (``GET /api/rooms/{id}/keys``'s ``wraps``)."""

    epoch: int
    sender: str
    sender_key: str
    wrap: str


@dataclass(slots=True)
class Opened:
    """What :func:`open_wraps` did: the keys new to this member, the senders seen for
    the first time (to remember), and the wraps refused (sender, epoch, why)."""

    keys: list[e2e.RoomKey]
    senders: dict[str, KnownKey]
    refused: list[tuple[str, int, str]]


def open_wraps(
    crypto: RoomCrypto,
    wraps: Sequence[Wrap],
    identity: X25519PrivateKey,
    known: Mapping[str, KnownKey],
    epoch: int,
) -> Opened:
    """Open each wrap and hold its key in ``crypto`` (the one of the room's ``epoch``
    seals from now on); a wrap from a sender whose key is not the one remembered is
    refused unopened."""
    out = Opened([], {}, [])
    for w in wraps:
        remembered = known.get(w.sender) or out.senders.get(w.sender)
        if remembered is not None and remembered.key != w.sender_key:
            out.refused.append((w.sender, w.epoch, "sender_key_changed"))
            continue
        try:
            key = e2e.unwrap_room_key(
                w.wrap,
                room_id=crypto.room_id,
                recipient=identity,
                sender_public=e2e.b64u_decode(w.sender_key),
            )
        except e2e.E2EError as exc:
            out.refused.append((w.sender, w.epoch, exc.code))
            continue
        if crypto.add_key(key, current=key.epoch == epoch):
            out.keys.append(key)
        if remembered is None:
            out.senders[w.sender] = KnownKey(w.sender_key)
    return out

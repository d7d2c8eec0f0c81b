"""Entering a room from the terminal, end-to-end encrypted or not: the link's key or
the key a member hands over for the short code, and the session that goes with it."""

from __future__ import annotations

import os

from peerlane.core import e2e
from peerlane.core.chat_crypto import RoomCrypto
from peerlane.core.join_input import JoinInput
from peerlane.peer import EXIT_USAGE, PeerError, cli_config, http_api, pake_joiner
from peerlane.peer.http_api import Membership
from peerlane.peer.pake_joiner import Notice


def link_key(how: JoinInput) -> e2e.RoomKey | None:
    """The room key of a link's fragment (None: a room without encryption)."""
    if not how.room_key:
        return None
    try:
        return e2e.RoomKey.decode(how.room_key)
    except e2e.E2EError as exc:
        raise PeerError(
            "The invite link's room key is damaged; copy the whole link again "
            "(everything after the #).",
            EXIT_USAGE,
        ) from exc


async def enter(
    base: str, how: JoinInput, display_name: str, command: str, notice: Notice
) -> tuple[Membership, e2e.RoomKey | None]:
    """Join by link or code; with the room key when the room is encrypted.

    A code is tried as ``POST /api/join`` first: a room without encryption is joined that
    way. An encrypted room's code is refused there (``pake_required``, nothing spent): its
    words run the PAKE with a member's client, which hands the key over with a session.
    """
    key = link_key(how)
    try:
        member = await http_api.join(base, how, display_name)
    except http_api.PakeRequired:
        if how.code is None:
            raise
        return await pake_joiner.join_by_code(base, how.code, display_name, notice)
    if key is None:
        cli_config.refuse_encrypted_name(member.room_name, command)  # a link cut short
    elif e2e.is_envelope(member.room_name):
        _check_key(key, member, notice)
    return member, key


def _check_key(key: e2e.RoomKey, member: Membership, notice: Notice) -> None:
    """A key of the right form that does not open the room's name is another room's (or
    a mangled link's): what the terminal sealed with it nobody in the room could read.
    Once the room's key rotated, the name is sealed with the newest key, and a link
    made before carries an older one: the owner's client wraps the current key to this
    terminal once it published its identity key (peer/key_follow.py)."""
    try:
        e2e.open_room_name(key, member.room_name)
    except e2e.E2EError as exc:
        if (member.body.get("room") or {}).get("key_epoch"):
            notice(
                "This invite link is older than the room's current key: new messages open "
                "once a member's device hands the key over (when one is online)."
            )
            return
        raise PeerError(
            "The invite link's room key does not open this room; copy the whole link again "
            "(everything after the #).",
            EXIT_USAGE,
        ) from exc


def room_crypto(member: Membership, key: e2e.RoomKey | None) -> RoomCrypto | None:
    if key is None:
        return None
    return RoomCrypto(member.room_id, member.participant_id, key, os.urandom)

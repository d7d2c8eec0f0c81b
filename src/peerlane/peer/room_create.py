"""Making a room from the terminal (``peerlane send`` without ``--room``), end-to-end
encrypted the way the browser's home page makes one (web/ui/home-page.js,
web/e2e/room-crypto.js, web/e2e/code-words.js; docs/protocol.md, "Where the words come
from"): the room key is made here and leaves only in the invite link's fragment; the
server gets the room's name sealed, makes no words for the code, and stores the words
this process draws only sealed under the room key (``sealed_code``). The server never
holds what opens the room, nor what a code's words are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from peerlane.core import code_words, e2e
from peerlane.peer import EXIT_FAILED, PeerError, http_api
from peerlane.peer.http_api import Membership


@dataclass(frozen=True, slots=True)
class NewRoom:
    member: Membership
    key: e2e.RoomKey | None  # None: a room without end-to-end encryption (--no-encrypt)
    link: str  # with the room key in the fragment when encrypted
    code: str  # "7-amber-falcon": read aloud; "" when the server gave none
    invite_id: str
    words: str | None  # the code's words as drawn here (an encrypted room's)


async def create(server: str, display_name: str, *, encrypt: bool = True) -> NewRoom:
    """A room owned by this process, with its first invite's link and code."""
    if not encrypt:
        member = await http_api.create_room(server, display_name)
        invite = member.body.get("invite") or {}
        return NewRoom(
            member,
            None,
            str(invite.get("link") or ""),
            str(invite.get("code") or ""),
            str(invite.get("id") or ""),
            None,
        )
    key = e2e.RoomKey(os.urandom(e2e.KEY_SIZE))
    # The browser's rooms are named by their maker, or the server names a clear one after
    # its owner: the same name here, sealed, since the server must not read it.
    sealed_name = e2e.seal_room_name(key, os.urandom(e2e.NONCE_SIZE), f"{display_name}'s room")
    member = await http_api.create_room(server, display_name, sealed_name)
    invite = member.body.get("invite") or {}
    invite_id, nameplate, link = invite.get("id"), invite.get("nameplate"), invite.get("link")
    if not (isinstance(invite_id, str) and isinstance(nameplate, int) and link):
        raise PeerError(
            f"The server at {server} made the room without an invite this version "
            "understands; update peerlane.",
            EXIT_FAILED,
        )
    words = code_words.draw_words()
    sealed = code_words.seal_code_words(
        key, member.room_id, invite_id, words, os.urandom(e2e.NONCE_SIZE)
    )
    await http_api.update_invite(member, invite_id, {"sealed_code": sealed})
    token_link = str(link)
    return NewRoom(
        member,
        key,
        f"{token_link}.{key.encoded()}",
        f"{nameplate}-{words}",
        invite_id,
        words,
    )

"""The owner's side of an encrypted room's keys in the terminal (docs/protocol.md, "Key
rotation"), as the browser's ``web/e2e/member-list.js`` and ``key-rotation.js`` (with
``invite-reset.js``) do it for a room a browser owns. A room ``peerlane send`` made is
owned by the terminal, and no browser will ever rotate it, so the terminal does:

* it wraps the keys members lack (``needs`` of ``GET …/keys``: a member whose key was
  not published at a rotation, or who joined later) to each one's published key;
* when ``GET …/keys`` says ``rotate_due`` (a member left for good or was removed; on the
  ``keys`` frame of the departure, or on entering: an owner that was away catches up),
  it makes epoch + 1 with a new random key, makes one new invite whose words are sealed
  under the new key, wraps the key to every remaining member's published key and to its
  own (so a rerun of the command, or another session of the owner, finds it), posts the
  wraps with ``rotate_to``, then revokes every earlier live invite (the one who left
  knew their links and words), seals with the new key from then on and seals the room's
  name again with it.

Two rotators at once (another session of the owner): the server moves the epoch for
one of them; the other gets ``key_epoch_conflict`` with nothing of it stored, which
counts as done, as in the browser. It then revokes only its own new invite (whose words
are sealed under a key that never became the room's): the earlier invites are the
winner's to revoke, which is why they go only after the rotation is won.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from peerlane.core import code_words, e2e
from peerlane.core.chat_crypto import LOCKED_NAME, RoomCrypto
from peerlane.peer import PeerError, http_api, identity
from peerlane.peer.http_api import Membership

Random = Callable[[int], bytes]
# (participant id, published identity key or None) of each member but this one
Members = Sequence[tuple[str, str | None]]


@dataclass(frozen=True, slots=True)
class Rotated:
    """A rotation this terminal made: the new epoch and the invite that replaced the
    earlier ones (its link carries the new key; its code's words are sealed under it)."""

    epoch: int
    invite_id: str
    link: str
    code: str  # "7-amber-falcon"; "" when the server gave the invite no number
    words: str  # the code's words as drawn here
    revoked: list[str]


def is_owner(member: Membership) -> bool:
    return (member.body.get("participant") or {}).get("role") == "owner"


class OwnerKeys:
    def __init__(
        self,
        member: Membership,
        crypto: RoomCrypto,
        private: X25519PrivateKey,
        random: Random = os.urandom,
    ) -> None:
        self.member = member
        self.crypto = crypto
        self.private = private
        self.random = random
        self._rotating = False

    def _wrap(self, key: e2e.RoomKey, recipient_key: str) -> str:
        return e2e.wrap_room_key(
            key,
            room_id=self.member.room_id,
            sender=self.private,
            recipient_public=e2e.b64u_decode(recipient_key),
            ephemeral=e2e.x25519_private(self.random(e2e.KEY_SIZE)),
            nonce=self.random(e2e.NONCE_SIZE),
        )

    def key_of_epoch(self, epoch: int) -> e2e.RoomKey | None:
        return next((k for k in self.crypto.keys.values() if k.epoch == epoch), None)

    async def fill(self, needs: Sequence[dict[str, Any]]) -> int:
        """Wrap the epochs members lack that this terminal holds; how many wraps went."""
        wraps = []
        for need in needs:
            for epoch in need["epochs"]:
                key = self.key_of_epoch(int(epoch))
                if key is not None:
                    wrap = self._wrap(key, str(need["identity_key"]))
                    wraps.append(
                        {"to": str(need["participant_id"]), "epoch": key.epoch, "wrap": wrap}
                    )
        if wraps:
            await http_api.room_call(self.member, "POST", "/keys", {"wraps": wraps})
        return len(wraps)

    async def settle(
        self, keys: dict[str, Any], others: Members
    ) -> Rotated | Literal["lost"] | None:
        """After a fetch of ``GET …/keys`` (``keys``): fill the needs, and rotate when due
        (once: a fetch while a rotation runs leaves it to that one). The rotation made,
        "lost" (another rotator's came first), or None (nothing due)."""
        if needs := keys.get("needs"):
            await self.fill(needs)
        if not keys.get("rotate_due") or self._rotating:
            return None
        self._rotating = True
        try:
            return await self.rotate(int(keys["epoch"]), others)
        finally:
            self._rotating = False

    async def rotate(self, epoch: int, others: Members) -> Rotated | Literal["lost"]:
        """Move the room from ``epoch`` (as last fetched) to epoch + 1 with a new key for
        ``others`` and this terminal; "lost" when another rotator got there first."""
        latest = await http_api.room_call(self.member, "GET", "/keys")
        if int(latest["epoch"]) != epoch or not latest.get("rotate_due"):
            return "lost"  # done meanwhile (looked at again, as the browser does)
        key = e2e.RoomKey(self.random(e2e.KEY_SIZE), epoch + 1)
        earlier = await http_api.list_invites(self.member)
        invite, words = await self._new_invite(key)
        mine = identity.public_key(self.private)
        recipients = [*others, (self.member.participant_id, mine)]
        wraps = [
            {"to": pid, "epoch": key.epoch, "wrap": self._wrap(key, published)}
            for pid, published in recipients
            if published  # the rest get it from needs once they publish a key
        ]
        body = {"rotate_to": key.epoch, "wraps": wraps}
        try:
            await http_api.room_call(self.member, "POST", "/keys", body)
        except PeerError as exc:
            if exc.code != "key_epoch_conflict":
                raise
            # Only its own invite is taken back: the earlier ones are the winner's to
            # revoke, and the winner's new one must stay.
            await self._revoke(str(invite["id"]))
            return "lost"
        self.crypto.add_key(key, current=True)
        # The earlier invites are revoked once this rotation is the room's (the one who
        # left knew their links and words); revoked before, a racing loser would revoke
        # the winner's new invite.
        revoked = []
        for old in earlier:
            if old.get("status") == "live" and old.get("id") != invite["id"]:
                await self._revoke(str(old["id"]))
                revoked.append(str(old["id"]))
        await self._seal_name_again(key)
        nameplate = invite.get("nameplate")
        return Rotated(
            key.epoch,
            str(invite["id"]),
            f"{invite.get('link') or ''}.{key.encoded()}",
            f"{nameplate}-{words}" if isinstance(nameplate, int) else "",
            words,
            revoked,
        )

    async def _new_invite(self, key: e2e.RoomKey) -> tuple[dict[str, Any], str]:
        """The invite that replaces the earlier ones, its words drawn here and sealed
        under the new key before the new epoch is posted (members who fetch the new key
        find them readable); the invite and its words."""
        made = await http_api.room_call(self.member, "POST", "/invites", {})
        invite_id = str(made["id"])
        words = code_words.draw_words()
        sealed = code_words.seal_code_words(
            key, self.member.room_id, invite_id, words, self.random(e2e.NONCE_SIZE)
        )
        await http_api.update_invite(self.member, invite_id, {"sealed_code": sealed})
        return made, words

    async def _revoke(self, invite_id: str) -> None:
        await http_api.room_call(self.member, "DELETE", f"/invites/{invite_id}")

    async def _seal_name_again(self, key: e2e.RoomKey) -> None:
        """The room's name sealed with the new key (members who join with only the new
        key read it). A name this terminal cannot open is left as it is: sealing the
        placeholder over it would lose it."""
        room = (await http_api.room_call(self.member, "GET", "")).get("room") or {}
        sealed = str(room.get("name") or "")
        clear = self.crypto.open_name(sealed)
        if not e2e.is_envelope(sealed) or clear == LOCKED_NAME:
            return
        name = e2e.seal_room_name(key, self.random(e2e.NONCE_SIZE), clear)
        await http_api.room_call(self.member, "PATCH", "", {"name": name})


def rotated_text(rotated: Rotated, gone: Sequence[str]) -> str:
    """What the owner is told after its terminal rotated (the browser's
    ``invitesReplacedText`` and more: the new invite is printed, there is no panel)."""
    who = ", ".join(gone) if gone else "A member"
    code = f" (code {rotated.code})" if rotated.code else ""
    return (
        f"{who} left this room for good: its key was rotated (epoch {rotated.epoch}), so "
        "they cannot read what comes next. The earlier invite links and codes no longer "
        f"work; the new invite: {rotated.link}{code}"
    )


# After a lost race, when the winner (a browser: it wraps to the members, never to its own
# participant) gave this terminal no copy of the new key.
WITHOUT_NEW_KEY = (
    "This terminal does not hold the room's new key: what it sends now is sealed with "
    "the earlier one, which the member who left holds. Stop it, and send from the "
    "session that rotated."
)
LOST_RACE = (
    "Another session of this room's owner rotated its key first (after a member left); "
    "this terminal takes the new key if that session wrapped it to this one."
)

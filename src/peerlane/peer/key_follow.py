"""The terminal's side of identity keys and key rotation in an encrypted room
(docs/protocol.md, "Identity keys and rotation on the server", "Key rotation"), as the
browser's ``web/e2e/key-rotation.js`` and ``member-list.js`` do it:

* it publishes this terminal's identity key (peer/identity.py) in the room, so that the
  owner's client wraps the room's next keys to it (a rotation after a removal) and to
  it when it joined with a link older than the room's key;
* it fetches the keys wrapped to it (on entering, on every ``keys`` frame and when a
  message is sealed with a key not held) and holds them in the room's crypto: every
  epoch's messages open, the newest key seals;
* it remembers each member's key per room (trust on first use, in the config
  directory, mode 0600, as the browser keeps them in IndexedDB) and says when one
  changed, loudly when the person had marked that member verified;
* in a room this terminal owns (one ``peerlane send`` made), it also does the owner's
  part after each fetch (peer/owner_keys.py): keys wrapped to members who lack them, and
  the rotation when a member left for good.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from peerlane.core import member_keys as mk
from peerlane.core.chat_crypto import RoomCrypto
from peerlane.peer import PeerError, cli_config, http_api, identity, owner_keys
from peerlane.peer.http_api import Membership


def known_path() -> Path:
    return cli_config.config_path().with_name("known-keys.json")


class KnownKeys:
    """The members' keys this terminal remembers in one room: ``known-keys.json``,
    ``{room id: {participant id: {key, verified, changed}}}``. A damaged file is read as
    empty (trust on first use starts over) and written anew."""

    def __init__(self, room_id: str, path: Path | None = None) -> None:
        self.room_id = room_id
        self.path = path or known_path()
        room = self._read().get(room_id)
        records = room.items() if isinstance(room, dict) else ()
        self.keys = {
            pid: known for pid, raw in records if (known := mk.KnownKey.from_json(raw)) is not None
        }

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def put(self, participant_id: str, known: mk.KnownKey) -> None:
        self.keys[participant_id] = known
        data = self._read()
        data[self.room_id] = {pid: k.as_json() for pid, k in self.keys.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        part = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(data) + "\n")
        os.replace(part, self.path)  # a reader sees the old file or the new, never half


@dataclass(frozen=True, slots=True)
class Person:
    """Another member as ``/people`` shows them."""

    participant_id: str
    name: str
    role: str
    online: bool
    identity_key: str | None
    safety_code: str | None  # None: no key published yet
    known: mk.KnownKey | None

    def as_json(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "name": self.name,
            "role": self.role,
            "online": self.online,
            "identity_key": self.identity_key,
            "safety_code": self.safety_code,
            "verified": bool(self.known and self.known.verified),
            "key_note": mk.key_note(self.known),
        }


@dataclass(frozen=True, slots=True)
class KeyChanged:
    """A member's published key is not the one remembered (``loud``: it was verified)."""

    person: Person

    @property
    def loud(self) -> bool:
        return self.person.known is not None and self.person.known.changed == "verified-changed"


Notify = Callable[[KeyChanged | str], None]  # a key change, or a sentence (a failed fetch)


class KeyFollower:
    def __init__(
        self,
        member: Membership,
        crypto: RoomCrypto,
        private: X25519PrivateKey,
        notify: Notify,
        known: KnownKeys | None = None,
    ) -> None:
        self.member = member
        self.crypto = crypto
        self.private = private
        self.public_key = identity.public_key(private)
        self.notify = notify
        self.known = known or KnownKeys(member.room_id)
        self.people: list[Person] = []
        self.epoch = 0
        self.owner = (
            owner_keys.OwnerKeys(member, crypto, private) if owner_keys.is_owner(member) else None
        )
        # Told of each rotation this terminal made (`send` keeps the new invite to show
        # it again on a rerun: peer/send_state.py).
        self.on_rotated: Callable[[owner_keys.Rotated], None] | None = None

    async def start(self) -> None:
        """Publish this terminal's key (unless the server has it) and fetch the keys."""
        published = (self.member.body.get("participant") or {}).get("identity_key")
        if published != self.public_key:
            await http_api.room_call(self.member, "PUT", "/identity", {"key": self.public_key})
        await self.refresh()

    async def refresh(self) -> None:
        """Look at the members' keys and the wraps again; a failure is told, not raised
        (what waited for a key then shows as the placeholder)."""
        try:
            before = {p.participant_id: p.name for p in self.people}
            await self.members()
            keys = await self._wraps()
            if self.owner is not None:
                await self._as_owner(keys, before)
        except PeerError as exc:
            self.notify(f"Could not fetch the room's keys: {exc}")
        except (KeyError, TypeError, ValueError):  # an answer not of the protocol's shape
            self.notify("Could not fetch the room's keys: the server's answer was not understood.")

    async def members(self) -> list[Person]:
        body = await http_api.room_call(self.member, "GET", "/participants")
        people = []
        for raw in body.get("participants", []):
            pid = str(raw["id"])
            if pid == self.member.participant_id:
                continue
            key = raw.get("identity_key")
            state, remember = mk.review_key(self.known.keys.get(pid), key)
            if remember is not None:
                self.known.put(pid, remember)
            person = Person(
                pid,
                str(raw["name"]),
                str(raw["role"]),
                bool(raw.get("online")),
                key,
                identity.safety_code_with(self.private, key) if key else None,
                self.known.keys.get(pid),
            )
            people.append(person)
            if state == "changed":
                self.notify(KeyChanged(person))
        self.people = people
        return people

    async def _wraps(self) -> dict[str, Any]:
        body = await http_api.room_call(self.member, "GET", "/keys")
        self.epoch = int(body["epoch"])
        wraps = [
            mk.Wrap(int(w["epoch"]), str(w["sender"]), str(w["sender_key"]), str(w["wrap"]))
            for w in body.get("wraps", [])
        ]
        # The owner's terminal wraps each new key to itself too: such a wrap must be
        # from this very key (a server's key of its own making is refused).
        me = self.member.participant_id
        known = {**self.known.keys, me: mk.KnownKey(self.public_key)}
        opened = mk.open_wraps(self.crypto, wraps, self.private, known, self.epoch)
        for sender, first in opened.senders.items():
            self.known.put(sender, first)
        return body

    async def _as_owner(self, keys: dict[str, Any], before: dict[str, str]) -> None:
        assert self.owner is not None
        others = [(p.participant_id, p.identity_key) for p in self.people]
        outcome = await self.owner.settle(keys, others)
        if outcome == "lost":
            self.notify(owner_keys.LOST_RACE)
            await self._wraps()  # the winner's key, when it was wrapped to this one
            if self.owner.key_of_epoch(self.epoch) is None:
                self.notify(owner_keys.WITHOUT_NEW_KEY)
        elif outcome is not None:
            self.epoch = outcome.epoch
            now = {p.participant_id for p in self.people}
            gone = [name for pid, name in before.items() if pid not in now]
            self.notify(owner_keys.rotated_text(outcome, gone))
            if self.on_rotated is not None:
                self.on_rotated(outcome)

    def verify(self, name: str) -> Person:
        """Mark the member of that name verified (the person compared the safety code)."""
        matches = [p for p in self.people if p.name == name and p.identity_key]
        if len(matches) != 1:
            what = "no member with a security key" if not matches else "more than one member"
            raise PeerError(f"There is {what} named {name!r}; see /people.")
        person = matches[0]
        known = self.known.keys.get(person.participant_id) or mk.KnownKey(str(person.identity_key))
        self.known.put(person.participant_id, mk.mark_verified(known))
        marked = replace(person, known=self.known.keys[person.participant_id])
        self.people = [marked if p is person else p for p in self.people]
        return marked


async def follow(
    member: Membership,
    crypto: RoomCrypto,
    notify: Notify,
    on_rotated: Callable[[owner_keys.Rotated], None] | None = None,
) -> KeyFollower:
    """The follower of an encrypted room, its key published and the keys fetched."""
    follower = KeyFollower(member, crypto, identity.load_or_make(), notify)
    follower.on_rotated = on_rotated
    await follower.start()
    return follower


def warning(what: KeyChanged | str) -> str:
    """A notice in words, for standard error: a changed key is its own line, shouted
    when the member had been verified."""
    if isinstance(what, str):
        return f"! {what}"
    person = what.person
    if what.loud:
        return (
            f"!!! WARNING: the security key of {person.name}, whom you verified, CHANGED. "
            "Someone may be in between: compare the safety code again (/people in "
            f"`peerlane chat`) before trusting them. New safety code: {person.safety_code}"
        )
    return (
        f"! The security key of {person.name} changed (a new device or browser?); "
        f"new safety code: {person.safety_code}"
    )


async def follow_keys(
    member: Membership,
    crypto: RoomCrypto | None,
    notify: Notify,
    on_rotated: Callable[[owner_keys.Rotated], None] | None = None,
) -> Callable[[], Awaitable[None]] | None:
    """For ``send`` and ``receive``: in an encrypted room, publish this terminal's key,
    fetch the keys, and give the refresh that RoomChat calls on a ``keys`` frame."""
    if crypto is None:
        return None
    return (await follow(member, crypto, notify, on_rotated)).refresh


def people_lines(follower: KeyFollower) -> list[str]:
    """``/people`` in words: each other member, their safety code with this terminal,
    whether verified, what changed."""
    lines = [f"* your security key: {follower.public_key}"]
    if not follower.people:
        lines.append("* nobody else in this room yet")
    for p in follower.people:
        about = ", ".join(
            x for x in (p.role if p.role == "owner" else "", "online" * p.online) if x
        )
        head = f"* {p.name}" + (f" ({about})" if about else "")
        if p.safety_code is None:
            lines.append(f"{head}: no security key yet")
            continue
        mark = " [verified]" if p.known and p.known.verified else ""
        lines.append(f"{head}: safety code {p.safety_code}{mark}")
        if note := mk.key_note(p.known):
            lines.append(f"  {note}")
    return lines

"""A room's chat crypto for the terminal (sans-I/O): the counterpart of the browser's
``web/e2e/room-crypto.js``, on the scheme of :mod:`peerlane.core.e2e`.

In an end-to-end encrypted room an own body is sealed before it is queued (so a resend
after a reconnect is the very same envelope), and what arrives is opened before it is
shown; a body that cannot be opened becomes a placeholder text, never ciphertext. The
randomness for nonces comes in from the driver (``os.urandom``; fixed bytes in tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import JsonValue

from peerlane.core import e2e
from peerlane.core import protocol as p

# What a message that cannot be opened shows (the browser's UNDECRYPTABLE).
UNDECRYPTABLE = "🔒 This message could not be decrypted."
# The name shown for an encrypted room whose name cannot be opened (the browser's).
LOCKED_NAME = "Encrypted room"

Random = Callable[[int], bytes]


def content_id(
    message_id: str,
    kind: str,
    ref: int | None,
    seq: int | None = None,
    edited_at: float | None = None,
) -> str:
    """The id a body is bound to: the message's own; an edit's is ``#`` and the seq it
    edits, and so is a message's shown edited (the server put the edit's body there)."""
    if kind == "edit" and ref is not None:
        return f"#{ref}"
    if edited_at is not None and seq is not None:
        return f"#{seq}"
    return message_id


def undecryptable(message: p.Message) -> p.Message:
    """The placeholder in place of a body that cannot be opened (an edit stays an edit,
    anything else shows as text)."""
    kind: p.ChatKind = "edit" if message.kind == "edit" else "text"
    return message.model_copy(update={"kind": kind, "body": UNDECRYPTABLE})


@dataclass
class RoomCrypto:
    """One encrypted room as this participant (``sender``) sees it: every epoch's key it
    holds (history sealed before a rotation stays readable), and the current one, which
    seals its own bodies (docs/protocol.md, "Key rotation")."""

    room_id: str
    sender: str  # this participant's id: own bodies are bound to it
    key: e2e.RoomKey  # the current key: what own bodies are sealed with
    random: Random
    keys: dict[str, e2e.RoomKey] = field(default_factory=dict)  # by key id

    def __post_init__(self) -> None:
        self.keys.setdefault(self.key.kid, self.key)

    def add_key(self, key: e2e.RoomKey, *, current: bool) -> bool:
        """Hold another epoch's key (``current``: seal with it from now on); whether it
        is one not held before. A key held under a lower epoch learns its epoch: an
        invite link made after a rotation carries the current key, taken as epoch 0
        until a wrap names its epoch."""
        held = self.keys.get(key.kid)
        if held is None or held.epoch < key.epoch:
            self.keys[key.kid] = key
        if current:
            self.key = self.keys[key.kid]
        elif held is not None and self.key.kid == key.kid:
            self.key = self.keys[key.kid]  # the same key, its epoch learnt
        return held is None

    def missing_kid(self, value: object) -> str | None:
        """The key id of a sealed value whose key this member does not hold (None: held,
        or not an envelope at all: opening it says what is wrong)."""
        try:
            kid = e2e.envelope_kid(value)
        except e2e.E2EError:
            return None
        return None if kid in self.keys else kid

    def _key_of(self, value: object) -> e2e.RoomKey:
        try:
            return self.keys.get(e2e.envelope_kid(value), self.key)
        except e2e.E2EError:
            return self.key  # opening it raises the envelope's own error

    def seal(
        self, message_id: str, body: JsonValue, kind: str = "text", ref: int | None = None
    ) -> str:
        return e2e.seal_chat_body(
            self.key,
            self.random(e2e.NONCE_SIZE),
            body,
            room_id=self.room_id,
            sender=self.sender,
            content_id=content_id(message_id, kind, ref),
        )

    def open_message(self, message: p.Message) -> tuple[p.Message, str | None]:
        """The message with its body opened (with the key of its epoch), and None; or
        with the placeholder (an edit stays an edit, anything else shows as text) and the
        error's code."""
        if message.body is None:
            return message, None  # deleted: nothing to open
        try:
            body = e2e.open_chat_body(
                self._key_of(message.body),
                message.body,
                room_id=self.room_id,
                sender=message.sender,
                content_id=content_id(
                    message.id, message.kind, message.ref, message.seq, message.edited_at
                ),
            )
        except e2e.E2EError as exc:
            return undecryptable(message), exc.code
        return message.model_copy(update={"body": body}), None

    def open_name(self, name: str) -> str:
        """The room's name as shown: a sealed one opened (or :data:`LOCKED_NAME`)."""
        if not e2e.is_envelope(name):
            return name
        try:
            return e2e.open_room_name(self._key_of(name), name)
        except e2e.E2EError:
            return LOCKED_NAME

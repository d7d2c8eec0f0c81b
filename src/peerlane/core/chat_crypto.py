"""A room's chat crypto for the terminal (sans-I/O): the counterpart of the browser's
``web/e2e/room-crypto.js``, on the scheme of :mod:`peerlane.core.e2e`.

In an end-to-end encrypted room an own body is sealed before it is queued (so a resend
after a reconnect is the very same envelope), and what arrives is opened before it is
shown; a body that cannot be opened becomes a placeholder text, never ciphertext. The
randomness for nonces comes in from the driver (``os.urandom``; fixed bytes in tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class RoomCrypto:
    """One encrypted room as this participant (``sender``) sees it."""

    room_id: str
    sender: str  # this participant's id: own bodies are bound to it
    key: e2e.RoomKey
    random: Random

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
        """The message with its body opened, and None; or with the placeholder (an edit
        stays an edit, anything else shows as text) and the error's code."""
        if message.body is None:
            return message, None  # deleted: nothing to open
        try:
            body = e2e.open_chat_body(
                self.key,
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
            return e2e.open_room_name(self.key, name)
        except e2e.E2EError:
            return LOCKED_NAME

"""Editing and deleting chat messages: who may change what (sans-I/O).

An edit or a delete is itself a chat message (kind ``"edit"`` / ``"delete"``, ``ref`` =
the target's seq), stored with the room's next seq so that clients that were away learn
of it on replay. Storing it also changes the target, in the same transaction, after
:func:`check_change` allowed it. The sender is always the authenticated participant,
never an id the client supplies.
"""

from __future__ import annotations

from peerlane.core.protocol import CHANGE_KINDS
from peerlane.core.records import MessageKind, StoredMessage
from peerlane.errors import ErrorCode, ForbiddenError, GoneError, NotFoundError, ProtocolError

# What a deleted message's body (and the body of every edit of it) becomes in storage:
# JSON null, so nothing of what was said is kept.
DELETED_BODY = "null"


def check_change(target: StoredMessage | None, *, sender_id: str, kind: MessageKind) -> None:
    """Raise unless ``sender_id`` may apply a change of ``kind`` to ``target``."""
    if target is None:
        raise NotFoundError(ErrorCode.MESSAGE_NOT_FOUND)
    if target.sender_id != sender_id:
        raise ForbiddenError(ErrorCode.NOT_YOUR_MESSAGE)
    if target.deleted_at is not None:
        raise GoneError(ErrorCode.MESSAGE_DELETED)
    if target.kind in CHANGE_KINDS:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE,
            "An edit or a deletion cannot itself be changed; change the original message.",
        )
    if kind == "edit" and target.kind != "text":
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "Only text messages can be edited.")

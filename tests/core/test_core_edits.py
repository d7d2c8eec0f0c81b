"""Who may edit or delete which message (peerlane.core.edits)."""

from __future__ import annotations

import pytest

from peerlane.core.edits import DELETED_BODY, check_change
from peerlane.core.records import MessageKind, StoredMessage
from peerlane.errors import ErrorCode, PeerlaneError


def stored(
    kind: MessageKind = "text", sender: str = "alice", deleted_at: float | None = None
) -> StoredMessage:
    return StoredMessage(
        room_id="room", seq=1, client_id="m1", sender_id=sender, sender_name="Alice",
        ts=1.0, kind=kind, ref=None, body='"hi"', deleted_at=deleted_at,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("target", "change", "code"),
    [
        (None, "edit", ErrorCode.MESSAGE_NOT_FOUND),
        (stored(sender="bob"), "edit", ErrorCode.NOT_YOUR_MESSAGE),
        (stored(sender="bob"), "delete", ErrorCode.NOT_YOUR_MESSAGE),
        (stored(deleted_at=5.0), "edit", ErrorCode.MESSAGE_DELETED),
        (stored(deleted_at=5.0), "delete", ErrorCode.MESSAGE_DELETED),
        (stored(kind="edit"), "edit", ErrorCode.INVALID_MESSAGE),
        (stored(kind="delete"), "delete", ErrorCode.INVALID_MESSAGE),
        (stored(kind="reaction"), "edit", ErrorCode.INVALID_MESSAGE),
        (stored(kind="file"), "edit", ErrorCode.INVALID_MESSAGE),
    ],
)
def test_refused_changes(
    target: StoredMessage | None, change: MessageKind, code: ErrorCode
) -> None:
    with pytest.raises(PeerlaneError) as caught:
        check_change(target, sender_id="alice", kind=change)
    assert caught.value.code is code


@pytest.mark.parametrize(
    ("kind", "change"),
    [("text", "edit"), ("text", "delete"), ("reaction", "delete"), ("file", "delete")],
)
def test_own_messages_may_be_changed(kind: MessageKind, change: MessageKind) -> None:
    check_change(stored(kind=kind), sender_id="alice", kind=change)  # does not raise


def test_a_deleted_body_keeps_nothing() -> None:
    assert DELETED_BODY == "null"


def test_wire_form_shows_the_flags() -> None:
    message = StoredMessage(
        room_id="room", seq=1, client_id="m1", sender_id="alice", sender_name="Alice",
        ts=1.0, kind="text", ref=None, body=DELETED_BODY, edited_at=2.0, deleted_at=3.0,
    ).to_wire()  # fmt: skip
    assert (message.body, message.edited_at, message.deleted_at) == (None, 2.0, 3.0)

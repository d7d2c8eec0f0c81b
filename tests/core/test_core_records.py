"""The plain records: ids, session liveness, stored messages on the wire, cleanup counts."""

from __future__ import annotations

import json
import re

from peerlane.core import protocol as p
from peerlane.core.records import CleanupReport, SessionRecord, StoredMessage, new_id


def test_new_ids_are_url_safe_random_and_sized() -> None:
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200
    for one in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{16}", one)  # 12 bytes -> 16 base64url characters
    assert len(new_id(32)) == 43


def session(expires_at: float, revoked_at: float | None = None) -> SessionRecord:
    return SessionRecord("s1", "p1", "r1", 100.0, expires_at, revoked_at)


def test_a_session_is_live_until_it_expires_or_is_revoked() -> None:
    assert session(expires_at=200.0).live(now=199.9)
    assert not session(expires_at=200.0).live(now=200.0)  # expiry is exclusive
    assert not session(expires_at=200.0, revoked_at=150.0).live(now=160.0)


def test_a_stored_message_goes_on_the_wire_with_its_body_parsed() -> None:
    body = {"text": "hello", "n": [1, 2]}
    stored = StoredMessage(
        room_id="r1",
        seq=7,
        client_id="c-1",
        sender_id="p1",
        sender_name="Ada",
        ts=123.5,
        kind="reaction",
        ref=3,
        body=json.dumps(body, separators=(",", ":")),
    )
    wire = stored.to_wire()
    assert isinstance(wire, p.Message)
    assert (wire.seq, wire.id, wire.sender, wire.sender_name) == (7, "c-1", "p1", "Ada")
    assert (wire.ts, wire.kind, wire.ref, wire.body) == (123.5, "reaction", 3, body)


def test_the_cleanup_report_counts_the_deleted_rooms() -> None:
    assert CleanupReport().rooms_deleted == 0
    assert CleanupReport(deleted_rooms=("a", "b")).rooms_deleted == 2

"""Editing, deleting and replying, end to end: two protocol clients over a real server
(issue #10). The sender is the authenticated participant: nothing a client puts in a
message can make someone else's message its own."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx

from support import Peer, ServerProcess, create_room, join, link_token


def history(http: httpx.Client, member: Any) -> dict[int, dict[str, Any]]:
    r = http.get(f"/api/rooms/{member.room_id}/messages", headers=member.auth)
    assert r.status_code == 200, r.text
    return {m["seq"]: m for m in r.json()["messages"]}


def change(peer: Peer, client_id: str, kind: str, ref: int, body: Any = None) -> None:
    peer.send({"type": "chat", "id": client_id, "kind": kind, "ref": ref, "body": body})


def test_edit_delete_and_reply_between_two_clients(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    pa, pb = Peer(server, alice), Peer(server, bob)
    pa.expect("presence", event="joined")

    assert pa.chat("a-1", "helo bob")["seq"] == 1
    assert pa.chat("a-2", "my phone number is 555-0100")["seq"] == 2
    pb.messages(2)

    # A reply names its target in ref; it is a text message like any other.
    pb.send({"type": "chat", "id": "b-1", "kind": "text", "ref": 1, "body": "hi alice"})
    assert pb.expect("ack", id="b-1")["seq"] == 3
    pb.expect("message", id="b-1")  # his own, through the room like everyone's
    reply = pa.expect("message", id="b-1")
    assert (reply["kind"], reply["ref"], reply["body"]) == ("text", 1, "hi alice")

    # alice edits her message: bob gets the edit as a message naming its target.
    change(pa, "a-3", "edit", 1, "hello bob")
    assert pa.expect("ack", id="a-3")["seq"] == 4
    pa.expect("message", id="a-3")
    edit = pb.expect("message", id="a-3")
    assert (edit["kind"], edit["ref"], edit["body"], edit["sender"]) == (
        "edit", 1, "hello bob", alice.participant_id,
    )  # fmt: skip

    # bob cannot edit or delete alice's message, whatever he sends.
    change(pb, "b-2", "edit", 1, "alice says bob is great")
    error = pb.expect("error")
    assert error["ref"] == "b-2"
    assert error["error"]["code"] == "not_your_message"
    assert error["error"]["message"] == "You can only edit or delete your own messages."
    change(pb, "b-3", "delete", 2)
    assert pb.expect("error")["error"]["code"] == "not_your_message"

    # alice deletes her second message.
    change(pa, "a-4", "delete", 2)
    assert pa.expect("ack", id="a-4")["seq"] == 5
    pa.expect("message", id="a-4")
    deletion = pb.expect("message", id="a-4")
    assert (deletion["kind"], deletion["ref"], deletion["body"]) == ("delete", 2, None)
    # A deleted message cannot be edited back to life.
    change(pa, "a-5", "edit", 2, "my phone number is back")
    assert pa.expect("error")["error"]["code"] == "message_deleted"
    pb.assert_silent()  # refusals reach nobody else

    # The history shows the final state: the edited body with its flag, the deletion
    # without its body; every seq is still there.
    stored = history(http, bob)
    assert sorted(stored) == [1, 2, 3, 4, 5]
    assert (stored[1]["body"], stored[1]["edited_at"] is not None) == ("hello bob", True)
    assert stored[1]["deleted_at"] is None
    assert (stored[2]["body"], stored[2]["deleted_at"] is not None) == (None, True)
    assert stored[3]["ref"] == 1

    # bob was away: a replay from the start shows the same final state and the changes.
    pb.close()
    pb = Peer(server, bob, last_seq=0)
    replayed = {m["seq"]: m for m in (pb.expect("message") for _ in range(5))}
    assert replayed[1]["body"] == "hello bob"
    assert replayed[1]["edited_at"] == stored[1]["edited_at"]
    assert (replayed[2]["body"], replayed[2]["deleted_at"]) == (None, stored[2]["deleted_at"])
    assert [replayed[s]["kind"] for s in (4, 5)] == ["edit", "delete"]

    # Offline reconciliation: a change resent after a lost ack is stored once.
    change(pa, "a-4", "delete", 2)
    assert pa.expect("ack", id="a-4")["seq"] == 5
    pa.close()
    pb.close()

    # Nothing of the deleted message is left in the database.
    with sqlite3.connect(server.data_dir / "peerlane.db") as db:
        row = db.execute(
            "SELECT body, deleted_at FROM messages WHERE room_id = ? AND seq = 2",
            (alice.room_id,),
        ).fetchone()
        everything = db.execute("SELECT body FROM messages").fetchall()
    assert row[0] == "null"
    assert row[1] is not None
    assert not any("555-0100" in body for (body,) in everything)


def test_bad_changes_get_clear_errors(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    pa = Peer(server, alice)
    pa.chat("a-1", "text")
    for frame, code in [
        ({"kind": "edit", "body": "x"}, "invalid_message"),  # no ref
        ({"kind": "delete", "ref": 1, "body": "x"}, "invalid_message"),  # a body
        ({"kind": "edit", "ref": 99, "body": "x"}, "message_not_found"),
    ]:
        pa.send({"type": "chat", "id": "bad", **frame})
        error = pa.expect("error")
        assert (error["error"]["code"], error["ref"]) == (code, "bad")
    assert pa.chat("a-2", "still fine")["seq"] == 2  # no seq was used by the refusals
    pa.close()

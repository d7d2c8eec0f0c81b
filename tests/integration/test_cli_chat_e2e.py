"""``peerlane chat`` in an end-to-end encrypted room, against a real server: a
WebSocket participant (tests/support.Peer) seals and opens as the browser does
(core/e2e.py, checked against the browser's code by tests/vectors/e2e.json). The
terminal joins by the link's key, or by short code as the PAKE joiner with that
participant answering as a member's client does; the server holds only envelopes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from peerlane.core import e2e, pake
from peerlane.core.pake_handover import seal_handover
from support import TIMEOUT, Member, Peer, ServerProcess
from terminal import Terminal

KEY = e2e.RoomKey(os.urandom(32))


@pytest.fixture
def terminal() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for term in opened:
        term.close()


def sealed(member: Member, body: Any, content_id: str, sender: str | None = None) -> str:
    """A body as ``member``'s browser seals it (``sender``: bound to someone else)."""
    return e2e.seal_chat_body(
        KEY,
        os.urandom(12),
        body,
        room_id=member.room_id,
        sender=sender or member.participant_id,
        content_id=content_id,
    )


def encrypted_room(http: httpx.Client, name: str) -> tuple[Member, str]:
    """A room made as the browser makes one: its name sealed; the link with the key."""
    r = http.post(
        "/api/rooms",
        json={"display_name": "alice", "name": e2e.seal_room_name(KEY, os.urandom(12), name)},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    alice = Member(body["room"]["id"], body["participant"]["id"], body["token"], body)
    return alice, f"{alice.body['invite']['link']}.{KEY.encoded()}"


def stored(http: httpx.Client, alice: Member) -> list[dict[str, Any]]:
    r = http.get(f"/api/rooms/{alice.room_id}/messages", headers=alice.auth)
    assert r.status_code == 200, r.text
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


def events(term: Terminal) -> list[dict[str, Any]]:
    decode = json.JSONDecoder().raw_decode  # a typed line's echo may follow on the line
    return [decode(line)[0] for line in term.output.splitlines() if line.startswith("{")]


def test_chat_by_link_seals_what_it_sends_and_opens_what_it_gets(
    server: ServerProcess, http: httpx.Client, terminal: list[Terminal]
) -> None:
    alice, link = encrypted_room(http, "Standup")
    ws = Peer(server, alice)
    first = ws.chat("a1", sealed(alice, "hello from the browser", "a1"))
    term = Terminal(["chat", link, "--json", "--name", "bob"])
    terminal.append(term)
    term.wait_for('"event": "synced"')
    (connected,) = [e for e in events(term) if e["event"] == "connected"]
    assert (connected["room_name"], connected["encrypted"]) == ("Standup", True)

    ws.chat("a2", sealed(alice, "live", "a2"))
    term.wait_for('"body": "live"')
    edit = sealed(alice, "edited", f"#{first['seq']}")
    ws.send({"type": "chat", "id": "a3", "kind": "edit", "ref": first["seq"], "body": edit})
    term.wait_for('"body": "edited"')
    ws.chat("a4", sealed(alice, "moved", "a4", sender="someone-else"))  # bound to another sender
    term.wait_for('"e2e_error": "auth_failed"')

    term.type("hello from the terminal\n")
    got = ws.expect("message", sender_name="bob")
    assert e2e.is_envelope(got["body"])
    opened = e2e.open_chat_body(
        KEY, got["body"], room_id=alice.room_id, sender=got["sender"], content_id=got["id"]
    )
    assert opened == "hello from the terminal"
    term.wait_for('"body": "hello from the terminal"')

    shown = [e for e in events(term) if e["event"] == "message"]
    assert [(e["kind"], e["body"]) for e in shown] == [
        ("text", "live"),
        ("edit", "edited"),
        ("text", "🔒 This message could not be decrypted."),
        ("text", "hello from the terminal"),
    ]
    # The server holds envelopes only, nothing the terminal typed or showed in clear.
    assert all(e2e.is_envelope(m["body"]) for m in stored(http, alice))
    term.type("\x04")
    assert term.wait_exit() == 0


def test_send_only_from_a_pipe_in_an_encrypted_room(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice, link = encrypted_room(http, "Builds")
    marker = f"canary{secrets.token_hex(6)}"
    done = subprocess.run(
        [sys.executable, "-m", "peerlane", "chat", link, "--send-only", "--name", "ci"],
        input=f"build 1 is green {marker}\nbuild 2 is red\n".encode(),
        capture_output=True,
        timeout=3 * TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    messages = stored(http, alice)
    assert [
        e2e.open_chat_body(
            KEY, m["body"], room_id=alice.room_id, sender=m["sender"], content_id=m["id"]
        )
        for m in messages
    ] == [f"build 1 is green {marker}", "build 2 is red"]
    # The canary: what the terminal typed is nowhere in what the server holds (its
    # database and WAL, its files and its log).
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            assert marker.encode() not in path.read_bytes(), path
    cut = subprocess.run(  # the link without its key: refused, nothing sent in clear
        [sys.executable, "-m", "peerlane", "chat", link.rsplit(".", 1)[0], "--send-only"],
        input=b"clear text\n",
        capture_output=True,
        timeout=3 * TIMEOUT,
        check=False,
    )
    assert cut.returncode == 2
    assert "carries no key" in cut.stderr.decode()
    another = f"{link.rsplit('.', 1)[0]}.{e2e.RoomKey(os.urandom(32)).encoded()}"
    wrong = subprocess.run(  # a key of the right form, but not this room's
        [sys.executable, "-m", "peerlane", "chat", another, "--send-only"],
        input=b"sealed for nobody\n",
        capture_output=True,
        timeout=3 * TIMEOUT,
        check=False,
    )
    assert wrong.returncode == 2
    assert "does not open this room" in wrong.stderr.decode()
    assert len(stored(http, alice)) == 2


def answer_join(ws: Peer, words: str, handover: str | None = None) -> str:
    """A member's client letting a joiner in: CPace with the code's words, then the room
    key sealed under the hand-over key (what the browser's room page will do)."""
    share = ws.expect("pake.share")
    member = pake.MemberPake.start(
        words,
        invite_id=share["invite"],
        joiner_id=share["joiner"],
        member_id=ws.member.participant_id,
        sid=e2e.b64u_decode(share["attempt"]),
    )
    tag = member.respond(e2e.b64u_decode(share["share"]))
    reply = {"share": e2e.b64u_encode(member.share), "confirm": e2e.b64u_encode(tag)}
    ws.send({"type": "pake.reply", "attempt": share["attempt"], **reply})
    confirm = ws.expect("pake.confirm", attempt=share["attempt"])
    keys = member.confirm(e2e.b64u_decode(confirm["confirm"]))
    handover = handover or seal_handover(
        keys.handover_key, KEY, os.urandom(12), room_id=ws.member.room_id, joiner_id=share["joiner"]
    )
    ws.send({"type": "pake.admit", "attempt": share["attempt"], "handover": handover})
    return str(share["joiner"])


def browser_words(member: Member) -> str:
    """An encrypted room's code: the server's nameplate and words the inviting browser
    would have drawn (the server never makes or holds them; any words do here)."""
    return f"{member.body['invite']['nameplate']}-amber-falcon"


def test_chat_by_code_runs_the_pake_and_gets_the_key_from_a_member(
    server: ServerProcess, http: httpx.Client, terminal: list[Terminal]
) -> None:
    alice, _ = encrypted_room(http, "Standup")
    code = browser_words(alice)
    term = Terminal(["chat", code, "--server", server.base, "--name", "bob"])
    terminal.append(term)
    term.wait_for("Waiting for a member of the room to come online")  # alice is not
    ws = Peer(server, alice)
    joiner = answer_join(ws, code.split("-", 1)[1])
    term.wait_for("* in Standup as bob (here: alice), end-to-end encrypted")
    term.type("hi, I came by code\n")
    got = ws.expect("message", sender=joiner)
    opened = e2e.open_chat_body(
        KEY, got["body"], room_id=alice.room_id, sender=joiner, content_id=got["id"]
    )
    assert opened == "hi, I came by code"
    ws.chat("a2", sealed(alice, "welcome, bob", "a2"))
    term.wait_for("] alice: welcome, bob")
    term.interrupt()
    assert term.wait_exit() == 130
    assert "Traceback" not in term.output


def test_a_member_gone_mid_join_is_followed_by_a_new_attempt(
    server: ServerProcess, http: httpx.Client, terminal: list[Terminal]
) -> None:
    alice, _ = encrypted_room(http, "Standup")
    code = browser_words(alice)
    first = Peer(server, alice)
    term = Terminal(["chat", code, "--server", server.base, "--name", "bob"])
    terminal.append(term)
    first.expect("pake.share")
    first.close()  # alice's tab closes mid-join: the server ends the attempt
    term.wait_for("went away before it finished; trying again")
    term.wait_for("Waiting for a member of the room to come online")
    answer_join(Peer(server, alice), code.split("-", 1)[1])
    term.wait_for("* in Standup as bob (here: alice), end-to-end encrypted")
    term.interrupt()
    assert term.wait_exit() == 130


def test_a_hand_over_that_does_not_open_is_refused(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice, _ = encrypted_room(http, "Standup")
    code = browser_words(alice)
    ws = Peer(server, alice)
    run = subprocess.Popen(
        [sys.executable, "-m", "peerlane", "chat", code, "--server", server.base, "--send-only"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # The words matched, but the hand-over is sealed under another key (a member's
    # client, or a server in the middle, sending something else): no key, no chat.
    forged = seal_handover(
        os.urandom(32), KEY, os.urandom(12), room_id=alice.room_id, joiner_id="anyone"
    )
    answer_join(ws, code.split("-", 1)[1], forged)
    _, err = run.communicate(b"never sent\n", timeout=3 * TIMEOUT)
    assert run.returncode == 1, err.decode()
    assert "room's key could not be opened" in err.decode()
    assert stored(http, alice) == []

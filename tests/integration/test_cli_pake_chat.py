"""``peerlane chat`` in an end-to-end encrypted room answers joins by its code as a
member (peer/pake_member.py), against a real server: the words come from the invite's
``sealed_code`` (made here as the browser makes it, docs/protocol.md "Where the words come
from"), opened with the link's key; a terminal joiner (peer/pake_joiner.py) typing the
right code gets the room key, a wrong code is refused and the chatting terminal counts it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from peerlane.core import e2e
from peerlane.peer import PeerError, pake_joiner
from peerlane.peer.http_api import Membership
from support import TIMEOUT, ServerProcess
from terminal import Terminal

KEY = e2e.RoomKey(os.urandom(32))
WORDS = "quiet-lantern"


def seal_words(room_id: str, invite_id: str, words: str) -> str:
    """The browser's sealCodeWords, from the spec (not the terminal's own code)."""
    info = "peerlane e2e v1 code words"
    aad = info.encode() + e2e.length_prefixed(room_id) + e2e.length_prefixed(invite_id)
    return e2e.seal(e2e.hkdf(KEY.secret, info), KEY.kid, os.urandom(12), words.encode(), aad)


async def join(
    server: ServerProcess, code: str, name: str, notes: list[str]
) -> tuple[Membership, e2e.RoomKey]:
    """The terminal joiner's run, bounded: a member that never answers fails the test."""
    joined = pake_joiner.join_by_code(server.base, code, name, notes.append)
    return await asyncio.wait_for(joined, 2 * TIMEOUT)


@pytest.fixture
def terminal() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for term in opened:
        term.close()


def test_a_chatting_terminal_lets_in_the_right_code_and_counts_a_wrong_one(
    server: ServerProcess, http: httpx.Client, terminal: list[Terminal], tmp_path: Path
) -> None:
    sealed_name = e2e.seal_room_name(KEY, os.urandom(12), "Standup")
    r = http.post("/api/rooms", json={"display_name": "alice", "name": sealed_name})
    assert r.status_code == 201, r.text
    body = r.json()
    room_id, invite = body["room"]["id"], body["invite"]
    auth = {"Authorization": f"Bearer {body['token']}"}
    r = http.patch(
        f"/api/rooms/{room_id}/invites/{invite['id']}",
        json={"sealed_code": seal_words(room_id, invite["id"], WORDS)},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    link = f"{invite['link']}.{KEY.encoded()}"
    # Bob's terminal is the only member online: it answers every attempt.
    env = {"XDG_CONFIG_HOME": str(tmp_path), "PEERLANE_SERVER": ""}
    term = Terminal(["chat", link, "--json", "--name", "bob"], env=env)
    terminal.append(term)
    term.wait_for('"event": "synced"')

    notes: list[str] = []
    wrong = f"{invite['nameplate']}-bold-otter"
    with pytest.raises(PeerError, match="That code is not right"):
        asyncio.run(join(server, wrong, "mallory", notes))
    term.wait_for("wrong room code (1 of 100 failed tries for that code)")
    counts = json.loads((tmp_path / "peerlane" / "pake-failures.json").read_text())
    assert counts == {f"{room_id}/{invite['id']}": 1}

    right = f"{invite['nameplate']}-Quiet Lantern"  # typed as people type it
    member, key = asyncio.run(join(server, right, "carol", notes))
    assert key.secret == KEY.secret
    assert member.room_id == room_id
    # Carol's session is a member's: the room's live invites are hers to see.
    r = http.get(f"/api/rooms/{room_id}/invites", headers=member.auth)
    assert r.status_code == 200, r.text

"""`peerlane chat` and end-to-end encrypted rooms (issue #15, first slice): the terminal
client cannot seal yet, so it refuses an encrypted room's link before joining, instead
of sending clear text into the room."""

from __future__ import annotations

import asyncio

import pytest

from peerlane.cli_chat import ENCRYPTED_ROOM, _chat
from peerlane.peer import EXIT_USAGE, PeerError

LINK = "http://127.0.0.1:9/join#Tok_en-1.S0nlAzdrcHHtC1925-hTvC7SUGmn6En4xiwdVgK_qeA"


def test_an_encrypted_rooms_link_is_refused_before_anything_is_sent() -> None:
    # Port 9 (discard) on loopback: a join attempt would fail with a connection error.
    with pytest.raises(PeerError) as info:
        asyncio.run(_chat(LINK, None, "bob", send_only=True, as_json=False))
    assert info.value.exit_code == EXIT_USAGE
    assert str(info.value) == ENCRYPTED_ROOM

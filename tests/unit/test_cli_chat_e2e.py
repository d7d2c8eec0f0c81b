"""The terminal peer and end-to-end encrypted rooms (issue #15): `peerlane chat` seals
and opens (tests/integration/test_cli_chat_e2e.py) but refuses a link whose key is
damaged before joining; so do `send --room` and `receive`, which seal and open files
(tests/e2e/test_cli_e2e_files.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from peerlane.cli_chat import _chat
from peerlane.cli_transfer import _receive, _send
from peerlane.peer import EXIT_USAGE, PeerError
from peerlane.peer.cli_config import refuse_encrypted_name

LINK = "http://127.0.0.1:9/join#Tok_en-1.S0nlAzdrcHHtC1925-hTvC7SUGmn6En4xiwdVgK_qeA"


def _refused(run: Coroutine[Any, Any, None]) -> PeerError:
    # Port 9 (discard) on loopback: a join attempt would fail with a connection error.
    with pytest.raises(PeerError) as info:
        asyncio.run(run)
    assert info.value.exit_code == EXIT_USAGE
    return info.value


def test_chat_refuses_a_damaged_room_key_before_anything_is_sent() -> None:
    refused = _refused(_chat(LINK[:-3], None, "bob", send_only=True, as_json=False))
    assert "room key is damaged" in str(refused)


def test_send_and_receive_refuse_a_damaged_room_key_before_joining(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hello")
    sent = _refused(_send([path], None, LINK[:-3], "bob", []))
    assert "room key is damaged" in str(sent)
    received = _refused(_receive(LINK[:-3], tmp_path, True, False, None, "bob", []))
    assert "room key is damaged" in str(received)


def test_a_sealed_room_name_after_joining_by_code_is_refused() -> None:
    refuse_encrypted_name("Team room", "receive")  # a clear name: fine
    with pytest.raises(PeerError, match="end-to-end encrypted"):
        refuse_encrypted_name("e2e1.a2lkLWtpZA.bm9uY2U.c2VhbGVk", "receive")

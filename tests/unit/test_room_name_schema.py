"""Room names as the server takes them (server/schemas.py): a clear name of at most 80
characters, or an end-to-end encrypted room's sealed name, which is longer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from peerlane.core import e2e
from peerlane.server.schemas import CreateRoomIn, UpdateRoomIn

KEY = e2e.RoomKey(bytes(range(32)))


def test_a_sealed_name_longer_than_a_clear_one_is_taken() -> None:
    sealed = e2e.seal_room_name(KEY, bytes(12), "Équipe 🚀 " + "x" * 70)
    assert len(sealed) > 80
    assert CreateRoomIn(display_name="a", name=sealed).name == sealed
    assert UpdateRoomIn(name=sealed).name == sealed


def test_clear_names_keep_their_limit() -> None:
    assert CreateRoomIn(display_name="a", name="x" * 80).name == "x" * 80
    with pytest.raises(ValidationError, match="at most 80"):
        CreateRoomIn(display_name="a", name="x" * 81)


def test_something_that_only_looks_sealed_keeps_the_clear_limit() -> None:
    with pytest.raises(ValidationError, match="at most 80"):
        CreateRoomIn(display_name="a", name="e2e1." + "A" * 100)
    too_long = e2e.seal_room_name(KEY, bytes(12), "x" * 500)
    with pytest.raises(ValidationError, match="at most 80"):
        CreateRoomIn(display_name="a", name=too_long)

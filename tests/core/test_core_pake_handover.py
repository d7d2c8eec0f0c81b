"""The hand-over of the room key after a join by code (core/pake_handover.py): the vector
the browser's web/e2e/pake-handover.js is checked against too, and every binding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peerlane.core import e2e
from peerlane.core.pake_handover import open_handover, seal_handover

V = json.loads((Path(__file__).parent.parent / "vectors" / "pake-handover.json").read_text())
KEY = bytes.fromhex(V["handover_key_hex"])
ROOM_KEY = e2e.RoomKey.decode(V["room_key"])
HERE = {"room_id": V["room_id"], "joiner_id": V["joiner_id"]}


def test_the_vector_seals_and_opens() -> None:
    assert seal_handover(KEY, ROOM_KEY, bytes.fromhex(V["nonce_hex"]), **HERE) == V["handover"]
    assert open_handover(KEY, V["handover"], **HERE) == ROOM_KEY


@pytest.mark.parametrize(
    ("key", "where"),
    [
        (KEY, {**HERE, "room_id": "room2"}),
        (KEY, {**HERE, "joiner_id": "someone"}),
        (bytes(32), HERE),
    ],
)
def test_another_room_joiner_or_key_fails(key: bytes, where: dict[str, str]) -> None:
    with pytest.raises(e2e.AuthFailed):
        open_handover(key, V["handover"], **where)


@pytest.mark.parametrize(
    ("handover", "error"),
    [
        (None, e2e.Malformed),
        ("h1.x", e2e.Malformed),
        ("h2" + V["handover"][2:], e2e.UnsupportedVersion),
        ("h1.AAEC." + V["handover"].split(".")[2], e2e.Malformed),
    ],
)
def test_what_is_not_a_handover(handover: object, error: type[e2e.E2EError]) -> None:
    with pytest.raises(error):
        open_handover(KEY, handover, **HERE)


def test_keys_and_nonces_of_the_wrong_size_are_refused() -> None:
    with pytest.raises(e2e.BadKey):
        seal_handover(bytes(31), ROOM_KEY, bytes(12), **HERE)
    with pytest.raises(e2e.BadKey):
        seal_handover(KEY, ROOM_KEY, bytes(11), **HERE)

"""An upload that makes no progress stops holding its quota after reservation_ttl;
its next PATCH reserves again, or is refused while the space is taken."""

from __future__ import annotations

import os

import httpx
import pytest

from files.tusraw import Tus
from support import assert_error, create_room, wait_until


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {
        "PEERLANE_ROOM_QUOTA_BYTES": "10000",
        "PEERLANE_FILE_OVERHEAD_BYTES": "0",
        "PEERLANE_RESERVATION_TTL": "1",
    }


def test_a_stalled_upload_lets_its_reservation_go(fhttp: httpx.Client) -> None:
    a = create_room(fhttp)
    tus = Tus.member(fhttp, a)
    data = os.urandom(7000)
    stalled = tus.new(len(data), room=a.room_id)  # no byte ever arrives
    assert_error(tus.create(5000, room=a.room_id), 413, "room_quota_exceeded")
    # Once its reservation lapsed, the room's space is free for others.
    taken = wait_until(
        lambda: (r := tus.create(5000, room=a.room_id)).status_code == 201 and r,
        what="the stalled upload's reservation lapses",
    )
    # The stalled upload's PATCH must reserve again: no room for it now.
    assert_error(tus.patch(stalled, data, 0), 413, "room_quota_exceeded")
    assert tus.delete(taken.headers["location"]).status_code == 204
    assert tus.patch(stalled, data, 0).status_code == 204

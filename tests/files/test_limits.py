"""Quotas per room, per share and in all; each refusal has its own code. Uploads under
way count at their full declared length; metadata counts too."""

from __future__ import annotations

import httpx
import pytest

from files.tusraw import Tus
from peerlane.core.tus import encode_metadata
from support import assert_error, create_room


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {
        "PEERLANE_ROOM_QUOTA_BYTES": "1000",
        "PEERLANE_SHARE_QUOTA_BYTES": "800",
        "PEERLANE_STORAGE_QUOTA_BYTES": "2500",
        "PEERLANE_MAX_FILE_BYTES": "900",
        "PEERLANE_FILE_OVERHEAD_BYTES": "0",  # bytes only, so the sums stay readable
    }


def test_quotas(fhttp: httpx.Client) -> None:
    a = create_room(fhttp)
    tus = Tus.member(fhttp, a)
    m = len(encode_metadata({"room": a.room_id}))  # metadata counts too (same for every room)
    tus.new(600 - m, room=a.room_id)  # unfinished, yet it counts
    message = tus.create(500 - m, room=a.room_id)
    assert "1000" in assert_error(message, 413, "room_quota_exceeded")
    done = tus.upload(b"x" * (400 - m), room=a.room_id)  # 1000 in all: fits exactly
    assert_error(tus.create(1, room=a.room_id), 413, "room_quota_exceeded")
    assert tus.delete(done).status_code == 204  # deleting frees the room's quota
    tus.new(400 - m, room=a.room_id)

    # Shares: a declared size (the files' bytes, as the browser declares it), capped by
    # share_quota_bytes; their metadata counts against the storage quota only.
    assert_error(fhttp.post("/api/shares", json={"size": 801}), 413, "share_quota_exceeded")
    created = fhttp.post("/api/shares", json={"size": 500}).json()
    owner = Tus(fhttp, {"Authorization": f"Bearer {created['manage_token']}"})
    ms = len(encode_metadata({"share": created["id"]}))
    owner.new(300, share=created["id"])
    assert_error(owner.create(201, share=created["id"]), 413, "share_quota_exceeded")
    owner.new(200, share=created["id"])

    # Storage: 1000 (room a) + 500 and two metadata (share) taken so far, 2500 in all.
    b = create_room(fhttp)
    Tus.member(fhttp, b).new(900 - m, room=b.room_id)
    c = create_room(fhttp)
    refused = Tus.member(fhttp, c).create(101 - m - 2 * ms, room=c.room_id)
    assert_error(refused, 507, "storage_quota_exceeded")
    Tus.member(fhttp, c).new(100 - m - 2 * ms, room=c.room_id)

    assert_error(Tus.member(fhttp, c).create(901, room=c.room_id), 413, "file_too_large")

"""Who may start how many uploads and how many bytes: per participant, share and IP
(creations, so empty uploads are not free), bytes per IP per day, bytes per day into
the shares of one creator; small anonymous shares unless the operator allows more.
Addresses come from X-Forwarded-For (trust_proxy), so one test client can be many."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from files.tusraw import TUS, Tus
from peerlane.core.tus import encode_metadata
from support import Member, assert_error, create_room

GIB = 1024**3


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {
        "PEERLANE_TRUST_PROXY": "true",
        "PEERLANE_UPLOADS_PER_HOUR": "1",
        "PEERLANE_UPLOAD_BURST": "5",
        "PEERLANE_FILE_OVERHEAD_BYTES": "1000",
        "PEERLANE_UPLOAD_BYTES_PER_IP_PER_DAY": "100000",
        "PEERLANE_SHARE_BYTES_PER_CREATOR_PER_DAY": "50000",
    }


def member_at(http: httpx.Client, ip: str) -> tuple[Member, Tus]:
    member = create_room(http)
    return member, Tus(http, {**member.auth, "X-Forwarded-For": ip})


def test_empty_uploads_are_limited_per_participant_and_address(fhttp: httpx.Client) -> None:
    a, tus = member_at(fhttp, "10.0.0.1")
    for _ in range(5):
        tus.new(0, room=a.room_id)
    r = tus.create(0, room=a.room_id)
    assert_error(r, 429, "too_many_uploads")
    assert int(r.headers["retry-after"]) > 0
    # Another participant at the same address meets the address's limit ...
    b, same_ip = member_at(fhttp, "10.0.0.1")
    assert_error(same_ip.create(0, room=b.room_id), 429, "too_many_uploads")
    # ... and a participant elsewhere does not.
    c, elsewhere = member_at(fhttp, "10.0.0.2")
    elsewhere.new(0, room=c.room_id)


def test_bytes_per_address_per_day(fhttp: httpx.Client) -> None:
    a, tus = member_at(fhttp, "10.0.1.1")
    tus.new(60_000, room=a.room_id)
    message = assert_error(tus.create(40_000, room=a.room_id), 429, "upload_allowance_exceeded")
    assert "hour" in message
    tus.new(30_000, room=a.room_id)  # 61 000 + 31 000 of 100 000 (1000 overhead each)
    big = tus.create(200_000, room=a.room_id)
    assert "larger than one day" in assert_error(big, 429, "upload_allowance_exceeded")
    b, elsewhere = member_at(fhttp, "10.0.1.2")
    elsewhere.new(60_000, room=b.room_id)


def test_bytes_per_share_creator_per_day(fhttp: httpx.Client) -> None:
    created = fhttp.post("/api/shares", json={}, headers={"X-Forwarded-For": "10.0.2.1"})
    share = created.json()
    assert share["size_limit"] == GIB  # anonymous shares are small by default
    token = {"Authorization": f"Bearer {share['manage_token']}"}
    Tus(fhttp, {**token, "X-Forwarded-For": "10.0.3.1"}).new(30_000, share=share["id"])
    # Uploaded from a fresh address, but into the same creator's shares.
    fresh = Tus(fhttp, {**token, "X-Forwarded-For": "10.0.3.2"})
    assert_error(fresh.create(30_000, share=share["id"]), 429, "upload_allowance_exceeded")
    again = fhttp.post("/api/shares", json={}, headers={"X-Forwarded-For": "10.0.2.1"}).json()
    other = Tus(fhttp, {"Authorization": f"Bearer {again['manage_token']}",
                        "X-Forwarded-For": "10.0.3.3"})  # fmt: skip
    assert_error(other.create(30_000, share=again["id"]), 429, "upload_allowance_exceeded")
    # Another creator's share is not affected.
    theirs = fhttp.post("/api/shares", json={}, headers={"X-Forwarded-For": "10.0.2.2"}).json()
    mine = Tus(fhttp, {"Authorization": f"Bearer {theirs['manage_token']}",
                       "X-Forwarded-For": "10.0.3.4"})  # fmt: skip
    mine.new(30_000, share=theirs["id"])
    too_big = fhttp.post("/api/shares", json={"size": GIB + 1})
    assert_error(too_big, 413, "share_quota_exceeded")


def test_creations_at_once_get_no_more_than_the_allowance(fhttp: httpx.Client) -> None:
    # Five creations sent together, 31,000 bytes each counted (1000 of overhead) against
    # 100,000 a day: three fit. Checking the allowance and spending it later let all of
    # them through, since each passed the check before any had spent.
    a, _ = member_at(fhttp, "10.0.4.1")
    headers = {
        **TUS, **a.auth, "X-Forwarded-For": "10.0.4.1", "Upload-Length": "30000",
        "Upload-Metadata": encode_metadata({"room": a.room_id}),
    }  # fmt: skip

    async def together() -> list[int]:
        async with httpx.AsyncClient(base_url=str(fhttp.base_url)) as http:
            sent = [http.post("/api/files/uploads", headers=headers) for _ in range(5)]
            return [r.status_code for r in await asyncio.gather(*sent)]

    statuses = asyncio.run(together())
    assert sorted(statuses) == [201, 201, 201, 429, 429], statuses

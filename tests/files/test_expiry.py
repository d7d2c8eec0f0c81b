"""Expiry over HTTP: unfinished uploads (a tiny upload_ttl) and share links. Waiting is
by polling until the server says so, never a fixed sleep."""

from __future__ import annotations

import httpx
import pytest

from files.tusraw import Tus
from support import assert_error, create_room, wait_until


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    # Cleanup stays at its default (a minute), so expired rows are still there to say 410.
    return {"PEERLANE_UPLOAD_TTL": "2"}


def test_expired_upload_is_410(fhttp: httpx.Client) -> None:
    member = create_room(fhttp)
    tus = Tus.member(fhttp, member)
    url = tus.new(10, room=member.room_id)
    r = tus.patch(url, b"01234", 0)
    assert r.status_code == 204
    assert r.headers["upload-expires"].endswith(" GMT")
    wait_until(lambda: tus.head(url).status_code == 410, what="upload expiry")
    r = tus.head(url)
    assert r.headers["tus-resumable"] == "1.0.0"
    assert "upload-offset" not in r.headers
    assert_error(tus.patch(url, b"56789", 5), 410, "upload_expired")


def share(http: httpx.Client, **body: object) -> dict[str, object]:
    r = http.post("/api/shares", json=body)
    assert r.status_code == 201, r.text
    out: dict[str, object] = r.json()
    return out


def test_expired_share_is_410(fhttp: httpx.Client) -> None:
    created = share(fhttp, ttl=1)
    token = str(created["link"]).split("#", 1)[1]
    owner = Tus(fhttp, {"Authorization": f"Bearer {created['manage_token']}"})
    url = owner.upload(b"short-lived", share=str(created["id"]), name="a.txt")
    opened = {"token": token}
    listing = fhttp.post("/api/shares/open", json=opened).json()
    [entry] = listing["files"]
    assert entry["url"].endswith(url.rsplit("/", 1)[1])
    wait_until(
        lambda: fhttp.post("/api/shares/open", json=opened).status_code == 410,
        what="share expiry",
    )
    assert_error(fhttp.post("/api/shares/open", json=opened), 410, "share_expired")
    r = fhttp.get(entry["url"], headers={"X-Share-Token": token})
    assert_error(r, 410, "share_expired")
    assert_error(owner.create(5, share=str(created["id"])), 410, "share_expired")


def test_uploads_to_a_share_expire_with_it(fhttp: httpx.Client) -> None:
    created = share(fhttp, ttl=3600)
    owner = Tus(fhttp, {"Authorization": f"Bearer {created['manage_token']}"})
    r = owner.create(10, share=str(created["id"]))
    assert r.status_code == 201
    # upload_ttl (2 s) is shorter than the share here; the earlier of the two applies.
    assert (
        owner.head(r.headers["location"]).headers["upload-expires"] == r.headers["upload-expires"]
    )

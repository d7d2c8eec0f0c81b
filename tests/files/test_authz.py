"""Who may see and touch room files: participants of the room only, files addressed to
someone only by the sender and that someone, uploads only by their sender."""

from __future__ import annotations

import httpx

from files.tusraw import OCTETS, TUS, Tus, file_id
from peerlane.core.tus import encode_metadata
from support import ServerProcess, assert_error, create_room, join, link_token


def files_of(http: httpx.Client, room_id: str, auth: dict[str, str]) -> list[str]:
    r = http.get(f"/api/rooms/{room_id}/files", headers=auth)
    assert r.status_code == 200, r.text
    return [f["id"] for f in r.json()["files"]]


def test_other_rooms_files_are_out_of_reach(fhttp: httpx.Client) -> None:
    a = create_room(fhttp, "alice")
    b = create_room(fhttp, "bob")
    b_file = file_id(Tus.member(fhttp, b).upload(b"b's file", room=b.room_id))
    # With A's session on B's room: refused.
    assert_error(fhttp.get(f"/api/rooms/{b.room_id}/files", headers=a.auth), 403, "forbidden")
    r = fhttp.get(f"/api/rooms/{b.room_id}/files/{b_file}", headers=a.auth)
    assert_error(r, 403, "forbidden")
    r = fhttp.delete(f"/api/rooms/{b.room_id}/files/{b_file}", headers=a.auth)
    assert_error(r, 403, "forbidden")
    # B's file through A's own room: not there.
    r = fhttp.get(f"/api/rooms/{a.room_id}/files/{b_file}", headers=a.auth)
    assert_error(r, 404, "file_not_found")
    r = fhttp.delete(f"/api/rooms/{a.room_id}/files/{b_file}", headers=a.auth)
    assert_error(r, 404, "file_not_found")
    # Uploading into B's room with A's session.
    assert_error(Tus.member(fhttp, a).create(5, room=b.room_id), 403, "forbidden")
    # No session at all.
    assert_error(fhttp.get(f"/api/rooms/{b.room_id}/files"), 401, "unauthorized")
    assert_error(fhttp.get(f"/api/rooms/{b.room_id}/files/{b_file}"), 401, "unauthorized")
    assert b_file in files_of(fhttp, b.room_id, b.auth)


def test_addressed_files_are_private(fhttp: httpx.Client) -> None:
    sender = create_room(fhttp, "sender")
    c = join(fhttp, "carol", token=link_token(sender))
    d = join(fhttp, "dave", token=link_token(sender))
    to_c = file_id(
        Tus.member(fhttp, sender).upload(b"for carol", room=sender.room_id, to=c.participant_id)
    )
    public = file_id(Tus.member(fhttp, sender).upload(b"for all", room=sender.room_id))
    assert set(files_of(fhttp, sender.room_id, sender.auth)) == {to_c, public}
    assert set(files_of(fhttp, c.room_id, c.auth)) == {to_c, public}
    assert files_of(fhttp, d.room_id, d.auth) == [public]
    url = f"/api/rooms/{sender.room_id}/files/{to_c}"
    assert fhttp.get(url, headers=c.auth).content == b"for carol"
    assert_error(fhttp.get(url, headers=d.auth), 404, "file_not_found")
    assert_error(fhttp.delete(url, headers=d.auth), 404, "file_not_found")
    [entry] = [
        f
        for f in fhttp.get(f"/api/rooms/{c.room_id}/files", headers=c.auth).json()["files"]
        if f["id"] == to_c
    ]
    assert (entry["sender"], entry["to"]) == (sender.participant_id, c.participant_id)


def test_only_the_sender_uses_an_upload(fhttp: httpx.Client) -> None:
    owner = create_room(fhttp, "owner")
    member = join(fhttp, "member", token=link_token(owner))
    url = Tus.member(fhttp, member).new(10, room=member.room_id)
    other = Tus.member(fhttp, owner)
    assert other.head(url).status_code == 403
    assert_error(other.patch(url, b"0123456789", 0), 403, "forbidden")
    assert_error(other.delete(url), 403, "forbidden")
    assert Tus.member(fhttp, member).offset(url) == 0


def test_members_delete_their_own_files_and_owners_any(fhttp: httpx.Client) -> None:
    owner = create_room(fhttp, "owner")
    m1 = join(fhttp, "m1", token=link_token(owner))
    m2 = join(fhttp, "m2", token=link_token(owner))
    f1 = file_id(Tus.member(fhttp, m1).upload(b"one", room=m1.room_id))
    f2 = file_id(Tus.member(fhttp, m1).upload(b"two", room=m1.room_id))
    base = f"/api/rooms/{owner.room_id}/files"
    assert_error(fhttp.delete(f"{base}/{f1}", headers=m2.auth), 403, "forbidden")
    assert fhttp.delete(f"{base}/{f1}", headers=m1.auth).status_code == 204
    assert fhttp.delete(f"{base}/{f2}", headers=owner.auth).status_code == 204
    assert files_of(fhttp, owner.room_id, owner.auth) == []


def test_cookie_sessions_upload_through_the_room_path(
    fserver: ServerProcess, fhttp: httpx.Client
) -> None:
    """Browsers hold an HTTP-only cookie scoped to /api/rooms/{id}: they upload there,
    and unsafe methods must come from an allowed Origin."""
    r = fhttp.post("/api/rooms", json={"display_name": "browser", "session": "cookie"})
    assert r.status_code == 201
    room_id = r.json()["room"]["id"]
    cookie = {"Cookie": f"peerlane_session={r.cookies['peerlane_session']}"}
    endpoint = f"/api/rooms/{room_id}/uploads"
    meta = {"Upload-Length": "4", "Upload-Metadata": encode_metadata({"name": "c.txt"})}
    r = fhttp.post(endpoint, headers={**TUS, **cookie, **meta})
    assert_error(r, 403, "bad_origin")
    origin = {"Origin": fserver.base}
    r = fhttp.post(endpoint, headers={**TUS, **cookie, **origin, **meta})
    assert r.status_code == 201, r.text
    url = r.headers["location"]
    assert url.startswith(f"{fserver.base}{endpoint}/")
    assert fhttp.head(url, headers={**TUS, **cookie}).headers["upload-offset"] == "0"
    patch = {**TUS, **OCTETS, **cookie, "Upload-Offset": "0"}
    r = fhttp.patch(url, content=b"abcd", headers={**patch, "Origin": "https://evil.example"})
    assert_error(r, 403, "bad_origin")
    r = fhttp.patch(url, content=b"abcd", headers={**patch, **origin})
    assert r.status_code == 204
    r = fhttp.get(f"/api/rooms/{room_id}/files/{file_id(url)}", headers=cookie)
    assert r.content == b"abcd"
    # The cookie means nothing on another room's path.
    other = create_room(fhttp)
    r = fhttp.post(
        f"/api/rooms/{other.room_id}/uploads", headers={**TUS, **cookie, **origin, **meta}
    )
    assert r.status_code in (401, 403)

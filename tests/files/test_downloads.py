"""Downloads over HTTP: ranges, resumed downloads, safe names and types, share links
and the download counting rule."""

from __future__ import annotations

import base64
import os
from urllib.parse import unquote

import httpx
import pytest

from files.tusraw import TUS, Tus, file_id, sha
from support import Member, ServerProcess, assert_error, create_room

DATA = os.urandom(1_000_003)


@pytest.fixture(scope="module")
def owner(fserver: ServerProcess) -> Member:
    with httpx.Client(base_url=fserver.base) as http:
        return create_room(http)


@pytest.fixture(scope="module")
def stored(fserver: ServerProcess, owner: Member) -> str:
    """The download URL of DATA in the owner's room."""
    with httpx.Client(base_url=fserver.base, timeout=30) as http:
        url = Tus.member(http, owner).upload(DATA, chunk=300_000, room=owner.room_id, name="d.bin")
    return f"/api/rooms/{owner.room_id}/files/{file_id(url)}"


def get(http: httpx.Client, url: str, member: Member, **headers: str) -> httpx.Response:
    return http.get(url, headers={**member.auth, **headers})


def test_whole_file(fhttp: httpx.Client, stored: str, owner: Member) -> None:
    r = get(fhttp, stored, owner)
    assert r.status_code == 200
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-length"] == str(len(DATA))
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["etag"].startswith('"')
    assert r.content == DATA


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 100),  # first bytes
        ("bytes=500000-500099", 500_000, 500_100),  # middle
        ("bytes=-100", len(DATA) - 100, len(DATA)),  # suffix
        ("bytes=999999-", 999_999, len(DATA)),  # open end
        ("bytes=999990-2000000", 999_990, len(DATA)),  # clipped
    ],
)
def test_ranges(
    fhttp: httpx.Client, stored: str, owner: Member, header: str, start: int, end: int
) -> None:
    r = get(fhttp, stored, owner, Range=header)
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {start}-{end - 1}/{len(DATA)}"
    assert r.headers["content-length"] == str(end - start)
    assert r.content == DATA[start:end]


@pytest.mark.parametrize("header", ["bytes=1000003-", "bytes=5-2", "bytes=-0", "bytes=x-y"])
def test_bad_ranges_are_416(fhttp: httpx.Client, stored: str, owner: Member, header: str) -> None:
    r = get(fhttp, stored, owner, Range=header)
    assert_error(r, 416, "range_not_satisfiable")
    assert r.headers["content-range"] == f"bytes */{len(DATA)}"


def test_resumed_download_gives_identical_bytes(
    fhttp: httpx.Client, stored: str, owner: Member
) -> None:
    got = bytearray()
    with fhttp.stream("GET", stored, headers=owner.auth) as r:
        etag = r.headers["etag"]
        for chunk in r.iter_bytes():
            got += chunk
            if len(got) > 300_000:
                break  # the connection drops
    r = get(fhttp, stored, owner, Range=f"bytes={len(got)}-", **{"If-Range": etag})
    assert r.status_code == 206
    assert sha(bytes(got) + r.content) == sha(DATA)
    stale = get(fhttp, stored, owner, Range="bytes=10-", **{"If-Range": '"changed"'})
    assert stale.status_code == 200
    assert stale.content == DATA


def test_head(fhttp: httpx.Client, stored: str, owner: Member) -> None:
    r = fhttp.head(stored, headers=owner.auth)
    assert r.status_code == 200
    assert r.headers["content-length"] == str(len(DATA))
    assert r.content == b""


HOSTILE = [
    "../../etc/passwd",
    "..\\..\\windows\\system32\\config",
    "a\x00b.txt",
    "line\r\nX-Injected: yes.txt",
    "evil\u202egnp.exe",
    "x" * 1000,
    "/absolute/path",
    "..",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_stay_names(
    fserver: ServerProcess, fhttp: httpx.Client, owner: Member, name: str
) -> None:
    url = Tus.member(fhttp, owner).upload(b"payload", room=owner.room_id, name=name)
    r = fhttp.get(f"/api/rooms/{owner.room_id}/files/{file_id(url)}", headers=owner.auth)
    assert r.status_code == 200
    assert r.content == b"payload"
    assert "x-injected" not in r.headers
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    served = unquote(disposition.split("filename*=UTF-8''", 1)[1])
    assert "/" not in served
    assert "\\" not in served
    assert "\x00" not in served
    assert "\r" not in served
    assert "\n" not in served
    assert "\u202e" not in served
    assert 0 < len(served) <= 255
    # Nothing outside the store was created or touched: blobs are named by id only.
    files_dir = fserver.data_dir / "files"
    for path in files_dir.rglob("*"):
        assert path.resolve().is_relative_to(files_dir.resolve())
        if path.is_file():
            assert path.name.removesuffix(".part").startswith(path.parent.name)
    assert not (fserver.data_dir / "etc").exists()


@pytest.mark.parametrize(
    ("declared", "served"),
    [
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/javascript", "application/octet-stream"),
        ("image/png", "image/png"),
    ],
)
def test_dangerous_types_are_served_as_octets(
    fhttp: httpx.Client, owner: Member, declared: str, served: str
) -> None:
    payload = b"<script>alert(1)</script>"
    url = Tus.member(fhttp, owner).upload(payload, room=owner.room_id, type=declared)
    r = fhttp.get(f"/api/rooms/{owner.room_id}/files/{file_id(url)}", headers=owner.auth)
    assert r.headers["content-type"] == served
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in r.headers["content-security-policy"]


def open_share(http: httpx.Client, token: str) -> httpx.Response:
    """What the download page does with the secret of a link: send it in the body."""
    return http.post("/api/shares/open", json={"token": token})


def new_share(http: httpx.Client, **body: object) -> tuple[dict[str, str], str, Tus]:
    r = http.post("/api/shares", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["link"].split("#", 1)[1]
    return created, token, Tus(http, {"Authorization": f"Bearer {created['manage_token']}"})


def test_share_creation(fhttp: httpx.Client, fserver: ServerProcess) -> None:
    created, token, _ = new_share(fhttp, ttl=600, max_downloads=2, size=1000)
    assert created["link"] == f"{fserver.base}/s#{token}"
    assert created["upload_url"] == f"{fserver.base}/api/files/uploads"
    assert created["qr_svg"].startswith("<svg")
    assert (created["max_downloads"], created["size_limit"]) == (2, 1000)
    listing = open_share(fhttp, token).json()
    assert listing["files"] == []
    assert listing["id"] == created["id"]
    assert_error(fhttp.post("/api/shares", json={"ttl": -1}), 422, "invalid_message")
    assert_error(fhttp.post("/api/shares", json={"ttl": 10**9}), 422, "invalid_message")
    assert_error(fhttp.post("/api/shares", json={"size": 10**15}), 413, "share_quota_exceeded")


def test_share_download_counting(fhttp: httpx.Client) -> None:
    created, token, owner = new_share(fhttp, max_downloads=2)
    url = owner.upload(b"0123456789", share=created["id"], name="n.txt", type="text/plain")
    # No secret in the path: the token rides in a header (or the page's cookie).
    link = f"/api/shares/{created['id']}/files/{file_id(url)}"
    secret = {"X-Share-Token": token}

    def downloads() -> int:
        [entry] = open_share(fhttp, token).json()["files"]
        assert entry["url"].endswith(link)
        return int(entry["downloads"])

    assert fhttp.head(link, headers=secret).status_code == 200
    assert downloads() == 0
    r = fhttp.get(link, headers={**secret, "Range": "bytes=5-"})
    assert (r.status_code, r.content, downloads()) == (206, b"56789", 0)  # a continuation
    r = fhttp.get(link, headers={**secret, "Range": "bytes=0-4"})
    assert (r.status_code, r.content, downloads()) == (206, b"01234", 1)  # starts at 0
    r = fhttp.get(link, headers=secret)
    assert r.content == b"0123456789"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    assert downloads() == 2  # a whole download
    assert_error(fhttp.get(link, headers=secret), 410, "share_exhausted")
    r = fhttp.get(link, headers={**secret, "Range": "bytes=5-"})
    assert_error(r, 410, "share_exhausted")


def test_share_needs_the_secret(fhttp: httpx.Client) -> None:
    created, token, owner = new_share(fhttp)
    url = owner.upload(b"secret bytes", share=created["id"])
    fid = file_id(url)
    link = f"/api/shares/{created['id']}/files/{fid}"
    assert fhttp.get(link, headers={"X-Share-Token": token}).status_code == 200
    assert_error(fhttp.get(link), 404, "share_not_found")
    for wrong in ("x", token[:-1], token + "x", created["id"], created["manage_token"]):
        r = fhttp.get(link, headers={"X-Share-Token": wrong})
        assert_error(r, 404, "share_not_found")
        assert_error(open_share(fhttp, wrong), 404, "share_not_found")
        # Not in the path of earlier versions either (where the token stood for the id).
        assert fhttp.get(f"/api/shares/{wrong}/files/{fid}").status_code == 404
    assert_error(fhttp.get("/api/shares/not-a-token"), 404, "share_not_found")
    # A file of another share is not reachable with this share's secret.
    other, _other_token, other_owner = new_share(fhttp)
    other_url = other_owner.upload(b"other", share=other["id"])
    r = fhttp.get(
        f"/api/shares/{created['id']}/files/{file_id(other_url)}", headers={"X-Share-Token": token}
    )
    assert_error(r, 404, "file_not_found")


def test_share_uploads_need_the_manage_token(fhttp: httpx.Client) -> None:
    created, _, owner = new_share(fhttp)
    stranger = Tus(fhttp, {"Authorization": "Bearer not-the-token"})
    assert_error(stranger.create(5, share=created["id"]), 403, "forbidden")
    assert_error(Tus(fhttp).create(5, share=created["id"]), 401, "unauthorized")
    assert_error(owner.create(5, share="no-such-share"), 404, "share_not_found")
    url = owner.new(5, share=created["id"])
    assert stranger.head(url).status_code == 403
    assert_error(stranger.patch(url, b"12345", 0), 403, "forbidden")
    assert_error(stranger.delete(url), 403, "forbidden")
    assert owner.offset(url) == 0


def test_delete_share(fserver: ServerProcess, fhttp: httpx.Client) -> None:
    created, token, owner = new_share(fhttp)
    url = owner.upload(b"to be deleted", share=created["id"])
    fid = file_id(url)
    blob = fserver.data_dir / "files" / fid[:2] / fid
    assert blob.exists()
    r = fhttp.delete(f"/api/shares/{created['id']}", headers={"Authorization": "Bearer nope"})
    assert_error(r, 403, "forbidden")
    assert fhttp.delete(f"/api/shares/{created['id']}", headers=owner.auth).status_code == 204
    assert not blob.exists()
    assert_error(open_share(fhttp, token), 404, "share_not_found")
    r = fhttp.delete(f"/api/shares/{created['id']}", headers=owner.auth)
    assert_error(r, 404, "share_not_found")


def test_metadata_is_echoed_verbatim(fhttp: httpx.Client, owner: Member) -> None:
    tus = Tus.member(fhttp, owner)
    meta = f"room {base64.b64encode(owner.room_id.encode()).decode()},flag"
    r = fhttp.post(
        "/api/files/uploads",
        headers={**TUS, **owner.auth, "Upload-Length": "3", "Upload-Metadata": meta},
    )
    assert r.status_code == 201
    assert tus.head(r.headers["location"]).headers["upload-metadata"] == meta


def test_share_secrets_stay_out_of_paths_and_logs(
    fserver: ServerProcess, fhttp: httpx.Client
) -> None:
    """Issue #9, finding 8: the link's secret travels in a body, header or cookie, never
    in a path that proxy logs or a browser's download history would keep."""
    created, token, owner = new_share(fhttp)
    fid = file_id(owner.upload(b"abc", share=created["id"], name="a.txt"))
    # The download page: the secret in the body; it answers URLs without it and a cookie.
    r = open_share(fhttp, token)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    [entry] = r.json()["files"]
    assert entry["url"] == f"{fserver.base}/api/shares/{created['id']}/files/{fid}"
    assert token not in r.text
    cookie = r.headers["set-cookie"].lower()
    assert f"path=/api/shares/{created['id']}".lower() in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    # A plain link click: the cookie alone authorizes the download.
    r = fhttp.get(entry["url"])
    assert (r.status_code, r.content) == (200, b"abc")
    # Paths of earlier versions, token in place of the id: a redirect to the fragment form.
    for old in (f"/api/shares/{token}/files/{fid}", f"/api/shares/{token}"):
        r = fhttp.get(old)
        assert r.status_code == 303, (old, r.text)
        assert r.headers["location"] == f"/s#{token}"
        assert r.headers["cache-control"] == "no-store"
    assert token not in fserver.logs()


def test_a_sealed_file_keeps_its_sealed_metadata_and_no_name(fhttp: httpx.Client) -> None:
    """An end-to-end encrypted share file (docs/protocol.md, "End-to-end encryption" →
    "Files"): the client sends its metadata sealed; the server lists it as given, opaque,
    and names the file "file"; anything else in "sealed" is refused."""
    from e2e_vectors import fixed
    from peerlane.core import e2e_file

    key = e2e_file.FileKey(fixed("file key a"))
    envelope = e2e_file.seal_file_metadata(key, bytes(12), {"name": "secret.txt", "size": 3})
    created, token, owner = new_share(fhttp)
    owner.upload(b"abc", share=created["id"], sealed=envelope)
    [entry] = open_share(fhttp, token).json()["files"]
    assert (entry["name"], entry["type"], entry["sealed"]) == (
        "file",
        "application/octet-stream",
        envelope,
    )
    assert e2e_file.open_file_metadata(key, entry["sealed"]) == {"name": "secret.txt", "size": 3}
    r = fhttp.post(
        "/api/files/uploads",
        headers={
            **TUS,
            **owner.auth,
            "Upload-Length": "3",
            "Upload-Metadata": f"share {base64.b64encode(created['id'].encode()).decode()},"
            f"sealed {base64.b64encode(b'plain words').decode()}",
        },
    )
    assert_error(r, 400, "invalid_metadata")

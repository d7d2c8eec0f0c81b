"""The web client's files, served from memory (peerlane/server/static.py): the bytes on
disk, the right types, conditional requests, HEAD, and nothing outside the folder."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from peerlane.config import load_settings
from peerlane.server.app import create_app
from peerlane.server.static import StaticAssets, VersionedAssets, content_type
from peerlane.server.web_pages import WEB


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(load_settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code


async def test_every_file_is_served_as_on_disk_with_its_type(client: httpx.AsyncClient) -> None:
    types = {
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".svg": "image/svg+xml",
        ".html": "text/html; charset=utf-8",
        ".png": "image/png",
        ".webmanifest": "application/manifest+json",
        ".txt": "text/plain; charset=utf-8",  # vendor/<package>/LICENSE.txt
    }
    files = sorted(p for p in WEB.rglob("*") if p.is_file())
    assert {p.suffix for p in files} <= set(types)
    for path in files:
        name = path.relative_to(WEB).as_posix()
        r = await client.get(f"/static/{name}")
        assert r.status_code == 200, name
        assert r.content == path.read_bytes(), name
        assert r.headers["content-type"] == types[path.suffix], name
        assert r.headers["content-length"] == str(path.stat().st_size), name
        assert r.headers["last-modified"] == formatdate(int(path.stat().st_mtime), usegmt=True)
        assert r.headers["etag"].startswith('"')
        assert r.headers["etag"].endswith('"')
        # the middleware's headers, as on every response
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-request-id"]


async def test_etags_differ_by_content_and_are_stable(client: httpx.AsyncClient) -> None:
    first = (await client.get("/static/app.js")).headers["etag"]
    assert (await client.get("/static/app.js")).headers["etag"] == first
    assert (await client.get("/static/app.css")).headers["etag"] != first


async def test_a_conditional_request_for_the_same_file_is_not_modified(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/static/ui/dom.js")
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    for headers in (
        {"if-none-match": etag},
        {"if-none-match": f"W/{etag}"},
        {"if-none-match": f'"other", {etag}'},
        {"if-none-match": "*"},
        {"if-modified-since": modified},
        {"if-modified-since": formatdate(usegmt=True)},  # now: later than the file
    ):
        r = await client.get("/static/ui/dom.js", headers=headers)
        assert r.status_code == 304, headers
        assert r.content == b""
        assert r.headers["etag"] == etag
        assert "content-type" not in r.headers
        assert r.headers["x-content-type-options"] == "nosniff"
    for headers in (
        {"if-none-match": '"other"'},
        # If-None-Match wins over If-Modified-Since
        {"if-none-match": '"other"', "if-modified-since": modified},
        {"if-modified-since": "Sat, 01 Jan 2000 00:00:00 GMT"},
        {"if-modified-since": "not a date"},
        # Dates the calendar cannot hold are invalid, so ignored (they raised ValueError)
        {"if-modified-since": "Mon, 01 Jan 10000 00:00:00 GMT"},
        {"if-modified-since": "Mon, 01 Jan 99999999999 00:00:00 GMT"},
        {"if-modified-since": "Mon, 01 Foo 2024 99:99:99 GMT"},
        {"if-modified-since": "Sat, 01 Jan 0000 00:00:00 GMT"},
    ):
        r = await client.get("/static/ui/dom.js", headers=headers)
        assert r.status_code == 200, headers
        assert r.content == (WEB / "ui" / "dom.js").read_bytes()


async def test_head_has_the_headers_and_no_body(client: httpx.AsyncClient) -> None:
    get = await client.get("/static/app.css")
    head = await client.head("/static/app.css")
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "last-modified"):
        assert head.headers[name] == get.headers[name]
    r = await client.head("/static/app.css", headers={"if-none-match": get.headers["etag"]})
    assert r.status_code == 304


async def test_other_methods_are_not_allowed(client: httpx.AsyncClient) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = await client.request(method, "/static/app.js")
        _error(r, 405, "bad_request")
        assert r.headers["allow"] == "GET, HEAD"
        assert r.headers["x-content-type-options"] == "nosniff"


async def test_what_is_not_a_file_of_the_folder_is_a_404(client: httpx.AsyncClient) -> None:
    for path in (
        "/static/nope.js",
        "/static/ui",
        "/static/ui/",
        "/static/",
        "/static/%2e%2e/server/app.py",
        "/static/ui/%2e%2e/%2e%2e/config.py",
        "/static/..%2fconfig.py",
        "/static/app.js%00",
        "/static/APP.JS",
    ):
        r = await client.get(path)
        _error(r, 404, "not_found")
        assert r.headers["x-content-type-options"] == "nosniff", path


async def test_dot_segments_and_double_slashes_resolve_inside_the_folder(
    client: httpx.AsyncClient,
) -> None:
    """As StaticFiles did: ``ui/../app.js`` is app.js."""
    app_js = (WEB / "app.js").read_bytes()
    for path in ("/static/ui/%2e%2e/app.js", "/static//app.js", "/static/./app.js"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.content == app_js


def test_lookup_never_leaves_the_files_read(tmp_path: Path) -> None:
    root = tmp_path / "web"
    (root / "ui").mkdir(parents=True)
    (root / "a.js").write_text("a")
    (root / "ui" / "b.js").write_text("b")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    assets = StaticAssets(root)
    assert set(assets.assets) == {"a.js", "ui/b.js"}  # the symlink leads out: left out
    assert assets.lookup("/a.js") is not None
    assert assets.lookup("/ui/../a.js") is assets.lookup("/a.js")
    for path in (
        "/../secret.txt",
        "/ui/../../secret.txt",
        "/../web/a.js",
        "/link.txt",
        "/ui",
        "/",
        "",
        "/a.js\x00",
        "\\a.js",
    ):
        assert assets.lookup(path) is None, path


def test_a_file_changed_added_or_removed_on_disk_is_served_as_it_is_now(tmp_path: Path) -> None:
    """Read once, then only a stat per request: an edit (while developing, or an upgrade
    in place) is read again, a new file is read when asked for, a removed one is gone."""
    (tmp_path / "a.js").write_text("one")
    assets = StaticAssets(tmp_path)
    first = assets.lookup("/a.js")
    assert first is not None
    assert assets.lookup("/a.js") is first  # unchanged: not read again
    (tmp_path / "a.js").write_text("two!")
    os.utime(tmp_path / "a.js", ns=(first.stamp[0] + 10**9, first.stamp[0] + 10**9))
    changed = assets.lookup("/a.js")
    assert changed is not None
    assert changed.body == b"two!"
    assert changed.etag != first.etag
    (tmp_path / "new.js").write_text("new")
    added = assets.lookup("/new.js")
    assert added is not None
    assert added.body == b"new"
    (tmp_path / "new.js").unlink()
    assert assets.lookup("/new.js") is None
    assert "new.js" not in assets.assets


def test_content_types() -> None:
    assert content_type("a.js") == "text/javascript; charset=utf-8"
    assert content_type("ui/a.MJS") == "text/javascript; charset=utf-8"
    assert content_type("a.css") == "text/css; charset=utf-8"
    assert content_type("icons/a.svg") == "image/svg+xml"
    assert content_type("a.webmanifest") == "application/manifest+json"
    assert content_type("a.png") == "image/png"
    assert content_type("noext") == "application/octet-stream"


async def test_a_versions_files_are_served_under_its_prefix_only_while_current(
    tmp_path: Path,
) -> None:
    """/app/<version>/<name>: the version is a hash of every file; a change to any file
    makes a new one, and the old one's names are gone (404), the unchanged files' too:
    never today's bytes under yesterday's version."""
    (tmp_path / "ui").mkdir()
    (tmp_path / "a.js").write_text("one")
    (tmp_path / "ui" / "b.js").write_text("b")
    assets = StaticAssets(tmp_path)
    app = Starlette(routes=[Mount("/app", VersionedAssets(assets))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        await _versions_served(http, assets, tmp_path)


async def _versions_served(http: httpx.AsyncClient, assets: StaticAssets, tmp_path: Path) -> None:
    async def status(path: str) -> int:
        return (await http.get(path)).status_code

    first = assets.version()
    assert assets.version() == first  # stable
    r = await http.get(f"/app/{first}/ui/b.js")
    assert (r.status_code, r.text) == (200, "b")
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = await http.get(f"/app/{first}/ui/b.js", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await http.head(f"/app/{first}/a.js")).headers["content-length"] == "3"

    stamp = (tmp_path / "a.js").stat().st_mtime_ns + 10**9
    (tmp_path / "a.js").write_text("two")
    os.utime(tmp_path / "a.js", ns=(stamp, stamp))
    second = assets.version()
    assert second != first
    assert (await http.get(f"/app/{second}/a.js")).text == "two"
    for name in ("a.js", "ui/b.js"):
        assert await status(f"/app/{first}/{name}") == 404, name
    # Asked first, before any page names the new version: the changed file is noticed.
    stamp += 10**9
    (tmp_path / "a.js").write_text("three")
    os.utime(tmp_path / "a.js", ns=(stamp, stamp))
    assert await status(f"/app/{second}/a.js") == 404
    assert (await http.get(f"/app/{assets.version()}/a.js")).text == "three"
    for path in ("/app/", f"/app/{second}", f"/app/{assets.version()}/", "/app/a.js"):
        assert await status(path) == 404, path

"""The installable app's server side: the web app manifest (and the icons it names) and
the service worker script at /sw.js, whose version follows every file it keeps."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from peerlane.config import load_settings
from peerlane.server.app import create_app
from peerlane.server.pwa import SHELL_URLS, worker_script
from peerlane.server.static import StaticAssets
from peerlane.server.web_pages import WEB


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(load_settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", body[16:24])  # the IHDR chunk comes first
    return width, height


def build_of(script: str) -> dict[str, Any]:
    first, _, _ = script.partition("\n")
    match = re.fullmatch(r"self\.PEERLANE_BUILD = (.*);", first)
    assert match, first
    build: dict[str, Any] = json.loads(match.group(1))
    return build


async def test_every_page_links_the_manifest(client: httpx.AsyncClient) -> None:
    for path in ("/", "/r/abc", "/join", "/share", "/s"):
        html = (await client.get(path)).text
        assert '<link rel="manifest" href="/static/manifest.webmanifest">' in html, path


async def test_the_manifest_makes_an_installable_standalone_app(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/static/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["name"] == "peerlane"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    pngs = {}
    for icon in manifest["icons"]:
        icon_response = await client.get(icon["src"])
        assert icon_response.status_code == 200, icon["src"]
        assert icon_response.headers["content-type"].startswith(icon["type"])
        if icon["type"] == "image/png":
            width, height = png_size(icon_response.content)
            assert icon["sizes"] == f"{width}x{height}", icon["src"]
            pngs.setdefault(icon["purpose"], set()).add(width)
    # What Android and desktop Chromium ask for: 192 and 512, plain and maskable.
    assert pngs == {"any": {192, 512}, "maskable": {192, 512}}


async def test_the_worker_is_served_at_the_root_with_its_build(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    build = build_of(response.text)
    assert build["shells"] == list(SHELL_URLS)
    # The files at the URLs the pages load them from: the version the pages name now.
    prefix = build["assets"]
    assert f'src="{prefix}app.js"' in (await client.get("/")).text
    assert f"{prefix}app.js" in build["files"]
    assert f"{prefix}ui/room-page.js" in build["files"]
    assert f"{prefix}manifest.webmanifest" in build["files"]
    # The workers a page starts (new URL(..., import.meta.url)): the same version's files.
    assert {f"{prefix}opfs-worker.js", f"{prefix}e2e/file-crypto-worker.js"} <= set(build["files"])
    assert f"{prefix}sw.js" not in build["files"]
    # Everything it keeps exists: one missing file would fail the whole install.
    for url in build["shells"] + build["files"]:
        assert (await client.get(url)).status_code == 200, url
    assert response.text.endswith((WEB / "sw.js").read_text())


def test_the_version_changes_with_any_file_or_shell(tmp_path: Path) -> None:
    (tmp_path / "ui").mkdir()
    (tmp_path / "app.js").write_text("export const a = 1;\n")
    (tmp_path / "ui" / "page.js").write_text("export const b = 1;\n")
    (tmp_path / "sw.js").write_text("// the worker\n")
    assets = StaticAssets(tmp_path)

    def version(shells: list[str]) -> str:
        return str(build_of(worker_script(assets, shells, tmp_path))["version"])

    first = version(["<html>1</html>"])
    first_files = build_of(worker_script(assets, [], tmp_path))["assets"]
    assert version(["<html>1</html>"]) == first  # stable
    assert version(["<html>2</html>"]) != first
    (tmp_path / "ui" / "page.js").write_text("export const b = 2;\n")
    second = version(["<html>1</html>"])
    assert second != first
    second_files = build_of(worker_script(assets, [], tmp_path))["assets"]
    assert second_files != first_files  # the pages load the changed files from elsewhere
    (tmp_path / "sw.js").write_text("// the worker, changed\n")
    assert version(["<html>1</html>"]) != second
    build = build_of(worker_script(assets, [], tmp_path))
    prefix = build["assets"]
    assert build["files"] == [f"{prefix}app.js", f"{prefix}ui/page.js"]

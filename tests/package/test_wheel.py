"""The built package: every runtime file is in the wheel, the sdist builds the same
wheel, and the installed ``peerlane`` (a fresh virtualenv outside the checkout) serves
the whole app. The browser half is tests/e2e/test_installed_package.py."""

from __future__ import annotations

import importlib.metadata
import re
import tarfile
from pathlib import Path

import httpx

import peerlane
from support import ServerProcess, create_room
from wheel_install import REPO, InstalledPackage, clean_env, run, source_package_files, wheel_files


def test_the_wheel_holds_every_file_git_tracks_under_the_package(
    installed: InstalledPackage,
) -> None:
    """A new kind of file in src/peerlane (a font, a manifest) that package-data does not
    cover shows up here, by name, instead of as a 404 on an operator's server."""
    expected = source_package_files()
    shipped = wheel_files(installed.wheel)
    assert sorted(expected - shipped) == [], "missing from the wheel (see package-data)"
    assert sorted(shipped - expected) == [], "in the wheel but neither tracked by git nor vendored"
    # Migrations run from code (storage/migrate.py): no alembic.ini, but env.py and
    # the revisions.
    assert "peerlane/storage/migrations/env.py" in shipped
    assert any("/migrations/versions/r0001" in name for name in shipped)
    assert {"peerlane/web/index.html", "peerlane/web/icons/peerlane.svg"} <= shipped
    # The browser's npm packages (make node-deps copies them into web/vendor).
    assert "peerlane/web/vendor/@noble/curves/ed25519.js" in shipped
    assert "peerlane/web/vendor/qr/index.js" in shipped


def test_the_sdist_builds_the_same_wheel_as_the_source_tree(
    installed: InstalledPackage,
) -> None:
    assert wheel_files(installed.wheel) == wheel_files(installed.direct_wheel)
    with tarfile.open(installed.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md"} <= names


def test_the_version_is_written_in_one_place(installed: InstalledPackage) -> None:
    printed = run([installed.peerlane, "version"], cwd=installed.root).strip()
    assert printed == peerlane.__version__
    assert installed.wheel.name.startswith(f"peerlane-{printed}-")
    metadata = run(
        [installed.python, "-c", "import importlib.metadata as m; print(m.version('peerlane'))"],
        cwd=installed.root,
    )
    assert metadata.strip() == printed
    # The checkout's editable install reads the same attribute.
    assert importlib.metadata.version("peerlane") == printed


def test_the_installed_package_runs_from_the_virtualenv(installed: InstalledPackage) -> None:
    where = run(
        [installed.python, "-c", "import peerlane; print(peerlane.__file__)"], cwd=Path("/")
    )
    location = Path(where.strip()).resolve()
    assert location.is_relative_to(installed.venv.resolve()), location
    assert not location.is_relative_to(REPO), location


_IMPORT = re.compile(
    r"""(?:^import\s[^"']*?from\s*|^import\s*|import\()\s*["'](\.{1,2}/[^"']+)["']""", re.M
)


def _module_graph(http: httpx.Client, entry: str) -> set[str]:
    """Every module reachable from ``entry`` by relative imports, each fetched (200)."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        response = http.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers["content-type"].startswith("text/javascript"), path
        folder = path.rsplit("/", 1)[0]
        for target in _IMPORT.findall(response.text):
            parts = f"{folder}/{target}".split("/")
            resolved: list[str] = []
            for part in parts:
                if part == "..":
                    resolved.pop()
                elif part != ".":
                    resolved.append(part)
            todo.append("/".join(resolved))
    return seen


def test_the_installed_command_serves_the_app(installed: InstalledPackage, tmp_path: Path) -> None:
    """``peerlane serve`` of the installed wheel, started outside the checkout with a new
    data dir: migrations run (a room can be made), and the room page and every module
    and asset it links are served."""
    server = ServerProcess(
        tmp_path / "data",
        command=[str(installed.peerlane), "serve"],
        base_env=clean_env(),
        cwd=installed.root,
    ).start()
    try:
        with httpx.Client(base_url=server.base, timeout=10) as http:
            member = create_room(http)
            page = http.get(f"/r/{member.room_id}")
            assert page.status_code == 200
            linked = re.findall(r"""(?:src|href)="(/(?:static|app)/[^"]+)\"""", page.text)
            entry = re.search(r'src="(/app/[0-9a-f]+/)app\.js"', page.text)
            assert entry, page.text  # the files of the version, immutable
            prefix = entry[1]
            for path in linked:
                response = http.get(path)
                assert response.status_code == 200, path
                if path.startswith(prefix):
                    assert "immutable" in response.headers["cache-control"], path
            modules = _module_graph(http, prefix + "app.js")
            assert prefix + "ui/room-page.js" in modules, sorted(modules)
            for path in (
                "/static/e2e/pake.js",
                "/static/vendor/@noble/curves/ed25519.js",
                "/static/vendor/qr/index.js",
            ):
                assert http.get(path).status_code == 200, path
    finally:
        server.stop()

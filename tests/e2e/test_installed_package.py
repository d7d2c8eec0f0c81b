"""The wheel, installed in a fresh virtualenv outside the checkout (tests/wheel_install.py),
serves a client that works in Chromium: the room page opens and every module and asset
it asks for is served (no 4xx in the network log). tests/package checks the rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.helpers import create_room_ui, send_ui, wait_messages
from support import ServerProcess
from wheel_install import InstalledPackage, build_and_install, clean_env

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> InstalledPackage:
    return build_and_install(tmp_path_factory.mktemp("installed-package"))


@pytest.fixture
def installed_server(installed: InstalledPackage, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path / "data",
        env={"PEERLANE_HOST": "127.0.0.1"},
        command=[str(installed.peerlane), "serve"],
        base_env=clean_env(),
        cwd=installed.root,
    ).start()
    yield server
    server.stop()


def test_the_installed_package_serves_a_working_room_page(
    installed_server: ServerProcess, browsers: Any
) -> None:
    alice = browsers.new("alice")
    failed: list[str] = []
    static: list[str] = []

    def on_response(response: Any) -> None:
        url, status = response.url, response.status
        if "/app/" in url:  # the version's files
            static.append(url)
        if status >= 400:
            failed.append(f"{status} {url}")

    alice.page.on("response", on_response)
    room_id = create_room_ui(alice.page, installed_server.base, "alice")
    assert room_id
    send_ui(alice.page, "from the installed wheel")
    wait_messages(alice.page, ["from the installed wheel"])
    assert failed == []
    assert any(url.endswith("/ui/room-page.js") for url in static), static

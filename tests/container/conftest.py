"""Container tests: the image built from Containerfile and the compose stack, with podman.

Every test here is marked ``container`` and runs in ``make container`` only (not in
``make integration``): they need root, podman and a few minutes (the base image and the
dependency layer are cached after the first run).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from chromium_browsers import Browsers, finish, playwright_session
from container.podman import PEERLANE_BUILD_STAGE, PEERLANE_IMAGE, ROOT, Podman, environment

if TYPE_CHECKING:
    from playwright.sync_api import Playwright


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "container: builds and runs container images (podman)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.container)


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    return Podman(environment(tmp_path_factory.mktemp("podman")))


@pytest.fixture(scope="session")
def base_image(podman: Podman) -> str:
    return podman.base_image()


@pytest.fixture(scope="session")
def peerlane_image(podman: Podman, base_image: str) -> str:
    """The image of this checkout (layers cached: a source change rebuilds the last one)."""
    containerfile = ROOT / "Containerfile"
    podman.build(PEERLANE_BUILD_STAGE, ROOT, containerfile, base_image, target="build")
    podman.build(PEERLANE_IMAGE, ROOT, containerfile, base_image)
    return PEERLANE_IMAGE


@pytest.fixture
def names(podman: Podman) -> Iterator[list[str]]:
    """Unique names for this test's containers and volumes; all removed afterwards."""
    made: list[str] = []
    yield made
    for name in made:
        podman.run("rm", "--force", "--volumes", "--time", "0", name, check=False)
    for name in made:
        podman.run("volume", "rm", "--force", name, check=False)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with playwright_session() as pw:
        yield pw


@pytest.fixture
def browsers(
    playwright: Playwright, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Browsers]:
    """Chromium participants (tests/chromium_browsers.py); any JavaScript error they log
    fails the test, and a failed test leaves a screenshot of every page in
    test-artifacts/failures/."""
    failed_before = request.session.testsfailed
    pool = Browsers(playwright, tmp_path)
    yield pool
    # the test's own report is counted before its fixtures are torn down
    shots = None
    if request.session.testsfailed > failed_before:
        (ROOT / "test-artifacts" / "failures").mkdir(parents=True, exist_ok=True)
        shots = ROOT / "test-artifacts" / "failures" / f"container-{request.node.name}"
    problems = finish(pool, shots)
    if problems:
        pytest.fail("JavaScript errors in the browsers:\n  " + "\n  ".join(problems), pytrace=False)

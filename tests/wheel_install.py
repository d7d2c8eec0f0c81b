"""Build peerlane's sdist and wheel from the checkout and install the wheel in a fresh
virtualenv outside it, as an operator would (``pip install peerlane-*.whl``).

Used by tests/package (what is in the wheel; the installed command serves the app) and
by the browser test tests/e2e/test_installed_package.py (the installed app's room page
loads in Chromium). The checkout's tracked files are copied to a temporary folder first:
setuptools writes build/ and *.egg-info next to the sources, and the build must see only
what git would ship. pip reads its usual configuration (index, local wheel folders) and
its cache. Every wheel needed is kept in a wheelhouse (``PEERLANE_WHEELHOUSE``, default
~/.cache/peerlane-tests/wheelhouse) and installed from there with ``--no-index``: a second
run downloads nothing, and the browser test, whose network namespace has no way out,
installs from what the first run (tests/package, in ``make integration``) downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Tools in the build virtualenv; the project asks for setuptools>=77 (PEP 639 licence).
BUILD_TOOLS = ["build>=1", "setuptools>=77", "wheel"]
# Tracked files under src/peerlane that are not for running peerlane: the core's
# stricter lint rules (ruff reads them from the checkout).
NOT_SHIPPED = {"peerlane/core/ruff.toml"}
WHEELHOUSE = Path(
    os.environ.get("PEERLANE_WHEELHOUSE", Path.home() / ".cache/peerlane-tests/wheelhouse")
)


@dataclass
class InstalledPackage:
    root: Path  # the temporary folder holding everything below
    wheel: Path  # built from the sdist (what `python -m build` ships)
    direct_wheel: Path  # built straight from the source tree
    sdist: Path
    venv: Path  # the fresh virtualenv with the wheel installed
    seconds: dict[str, float]  # how long each step took

    @property
    def peerlane(self) -> Path:
        return self.venv / "bin" / "peerlane"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def clean_env() -> dict[str, str]:
    """The environment for the installed command: no PYTHONPATH pointing at the
    checkout (the test run's own), no virtualenv of the test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERLANE_")}
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    return env


def run(args: list[str | Path], cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, args))} exited with {done.returncode}:\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    return done.stdout


# Generated, git-ignored, and shipped: the browser's npm packages, which
# scripts/vendor_web_packages.py (make node-deps) copies out of node_modules.
VENDOR = "src/peerlane/web/vendor"


def tracked_files() -> list[str]:
    """The files a build ships: what git would (tracked or new, not ignored, still on
    disk) and the vendored web packages."""
    listing = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO)
    names = {name for name in listing.split("\0") if name and (REPO / name).is_file()}
    vendored = (REPO / VENDOR).rglob("*")
    names |= {path.relative_to(REPO).as_posix() for path in vendored if path.is_file()}
    return sorted(names)


def copy_sources(target: Path) -> None:
    for name in tracked_files():
        if name.startswith(("node_modules/", "tests/", "bench/")):
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target / name)


def pip_install(python: Path, requirements: list[str | Path], cwd: Path) -> None:
    """Install from the wheelhouse only; if something is missing, download it (and
    what it needs) into the wheelhouse first, then install from there again."""
    offline = [python, "-m", "pip", "install", "--quiet", "--no-compile", "--no-index"]
    offline += ["--find-links", WHEELHOUSE, *requirements]
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    try:
        run(offline, cwd=cwd)
        return
    except RuntimeError:
        pass
    try:
        run([python, "-m", "pip", "download", "--quiet", "-d", WHEELHOUSE, *requirements], cwd=cwd)
    except RuntimeError as exc:
        raise RuntimeError(
            f"cannot fill the wheelhouse {WHEELHOUSE} (no way to the package index here? "
            "run tests/package once outside the test network namespace):\n{exc}"
        ) from exc
    for stale in WHEELHOUSE.glob("peerlane-*"):  # the wheel under test is given by path
        stale.unlink()
    run(offline, cwd=cwd)


def make_venv(path: Path) -> None:
    # The interpreter the tests run on (the shared venv's), resolved to the real one, so
    # the new venv does not see the shared venv's site-packages.
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    run([base, "-m", "venv", path], cwd=path.parent)


def build_and_install(root: Path) -> InstalledPackage:
    seconds: dict[str, float] = {}

    def timed(step: str, *args: list[str | Path], cwd: Path) -> None:
        start = time.monotonic()
        for command in args:
            run(command, cwd=cwd)
        seconds[step] = seconds.get(step, 0.0) + time.monotonic() - start

    source, dist, direct, tools, venv = (
        root / "source",
        root / "dist",
        root / "direct",
        root / "build-tools",
        root / "venv",
    )
    copy_sources(source)
    start = time.monotonic()
    make_venv(tools)
    seconds["build tools venv"] = time.monotonic() - start
    start = time.monotonic()
    pip_install(tools / "bin" / "python", list(BUILD_TOOLS), cwd=root)
    seconds["build tools install"] = time.monotonic() - start
    build = [tools / "bin" / "python", "-m", "build", "--no-isolation"]
    # No flags: the sdist, then the wheel built from the unpacked sdist.
    timed("sdist and wheel", [*build, "--outdir", dist, source], cwd=root)
    timed("direct wheel", [*build, "--wheel", "--outdir", direct, source], cwd=root)
    start = time.monotonic()
    make_venv(venv)
    seconds["fresh venv"] = time.monotonic() - start
    (wheel,) = dist.glob("peerlane-*.whl")
    (sdist,) = dist.glob("peerlane-*.tar.gz")
    (direct_wheel,) = direct.glob("peerlane-*.whl")
    start = time.monotonic()
    pip_install(venv / "bin" / "python", [wheel], cwd=root)
    seconds["wheel install"] = time.monotonic() - start
    return InstalledPackage(root, wheel, direct_wheel, sdist, venv, seconds)


def wheel_files(wheel: Path) -> set[str]:
    """The package's files in a wheel (its .dist-info left out)."""
    with zipfile.ZipFile(wheel) as archive:
        return {n for n in archive.namelist() if not n.split("/", 1)[0].endswith(".dist-info")}


def source_package_files() -> set[str]:
    """What the wheel must hold: every file git tracks under src/peerlane, as a path in
    the wheel (peerlane/...), minus byte code and the files not meant for running."""
    names = {
        name.removeprefix("src/")
        for name in tracked_files()
        if name.startswith("src/peerlane/") and "__pycache__" not in name
    }
    return names - NOT_SHIPPED

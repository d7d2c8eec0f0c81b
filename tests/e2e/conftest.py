"""Fixtures of the browser end-to-end suite (headless Debian Chromium via Playwright).

The whole suite runs inside a private network namespace made by ``scripts/netns-run``
(loopback plus one test interface carrying 10.77.0.1/24 and the default route), so
WebRTC cannot reach beyond this machine and ICE gathers exactly one host address.
``netns_check`` (autouse for every test in this directory) FAILS the test when that is
not the case.

Nothing here runs at import time: Playwright is imported inside the fixtures, so the
non-browser suite (which collects this directory and deselects ``-m browser``) does
not need a browser or a namespace.

Fixtures:
  ``server_factory(**env)`` -- a fresh ``python -m peerlane serve`` (tests/support.py)
  ``server``                -- one with default settings
  ``browsers``              -- ``browsers.new(name, p2p=True, viewport=..., bypass_csp=...)``:
                               a fresh persistent Chromium profile per participant; any JS
                               error, unhandled rejection or CSP violation fails the test
                               (``browser_factory`` is the same fixture)
  ``clis``                  -- the ``peerlane`` commands a test starts (tests/e2e/cli_peers.py:
                               ``send``, ``receive``), stopped at its end, their output shown
  ``udp_blocked``           -- every UDP packet to 10.77.0.1 dropped (namespace-wide)
  ``udp_switch``            -- the same on demand: ``.block()`` mid-test, ``.unblock()``
  ``artifacts``             -- ``test-artifacts/`` (screenshots; failures/ gets a screenshot
                               of every page and the server log of a failed test)

Two ways to make peer to peer impossible:
  ``browsers.new(..., p2p=False)`` -- per browser: no ICE candidate is ever gathered, so a
      link can never connect (ICE stays "new"; peerlane's mesh gives up after 15 s).
  ``udp_blocked``                  -- candidates are gathered but every check is lost:
      ICE really fails (~15 s). Not usable with parallel workers (skips itself).

Run: ``scripts/netns-run .venv/bin/pytest tests/e2e -m browser``. ``-n 2`` (xdist) works
in the namespace too, but the suite runs serially by default (2 cores, 3 Chromiums).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chromium_browsers import Browsers, finish, playwright_session
from e2e.cli_peers import clis  # noqa: F401 (the fixture, for every CLI test here)
from support import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
TEST_ADDRESS = "10.77.0.1"
LOOPBACK = "127.0.0.1"


# -- the namespace ----------------------------------------------------------------------


def _addresses() -> list[tuple[str, str, str, str]]:
    """(interface, family, address, scope) for every address in this network namespace."""
    out = subprocess.run(
        ["ip", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        # "3: veth-a    inet 10.77.0.1/24 brd ... scope global veth-a\ ..."
        name, family, cidr = parts[1], parts[2], parts[3]
        scope = parts[parts.index("scope") + 1] if "scope" in parts else ""
        rows.append((name.split("@")[0], family, cidr.split("/")[0], scope))
    return rows


@pytest.fixture(scope="session")
def netns_check() -> str:
    """Fail unless we run in the private test namespace; returns the test interface."""
    rows = _addresses()
    v4 = sorted(addr for _, fam, addr, _ in rows if fam == "inet")
    foreign = [
        f"{ifc} {fam} {addr} scope {scope}"
        for ifc, fam, addr, scope in rows
        if not (
            (ifc == "lo" and addr in (LOOPBACK, "::1"))
            or (fam == "inet" and addr == TEST_ADDRESS)
            or (fam == "inet6" and scope == "link")  # fe80:: -- never gathered by Chromium
        )
    ]
    test_ifaces = sorted(
        {ifc for ifc, fam, addr, _ in rows if fam == "inet" and addr == TEST_ADDRESS}
    )
    if foreign or v4 != sorted([LOOPBACK, TEST_ADDRESS]) or len(test_ifaces) != 1:
        listing = "\n  ".join(f"{r[0]} {r[1]} {r[2]} scope {r[3]}" for r in rows)
        pytest.fail(
            "The browser suite must run inside the private test network namespace, where the "
            f"only addresses are {LOOPBACK} on lo and {TEST_ADDRESS} on one test interface "
            "(WebRTC must never reach beyond this machine). Run it as:\n"
            "    scripts/netns-run .venv/bin/pytest tests/e2e -m browser\n"
            "or `make e2e`. This namespace has:\n  "
            + listing
            + ("\nunexpected: " + ", ".join(foreign) if foreign else ""),
            pytrace=False,
        )
    return test_ifaces[0]


class PacketSwitch:
    """Drops every packet of one IP protocol (UDP, TCP) to the test address while on
    (namespace-wide; the server on 127.0.0.1 stays reachable).

    For UDP, host candidates are still gathered, but every connectivity check is lost, so
    ICE really fails (checking -> disconnected/failed after ~15 s), and a link that was up
    stops carrying anything. The kernel here has no drop action for tc and there is no
    nft/iptables binary, so the packets are redirected to a veth that is down, which
    discards them.
    """

    OFF = ("tc qdisc del dev lo ingress", "ip link del pl-drop")

    def __init__(self, protocol: int, what: str) -> None:
        self.protocol, self.what = protocol, what
        self.on = False

    def block(self) -> None:
        commands = (
            "ip link add pl-drop type veth peer name pl-drop-peer",  # stays down
            "tc qdisc add dev lo ingress",
            "tc filter add dev lo parent ffff: protocol ip prio 1 u32"
            f" match ip protocol {self.protocol} 0xff match ip dst {TEST_ADDRESS}/32"
            " action mirred egress redirect dev pl-drop",
        )
        for command in commands:
            done = subprocess.run(command.split(), capture_output=True, text=True, check=False)
            if done.returncode != 0:
                self.unblock()
                pytest.fail(
                    f"cannot block {self.what}: {command}: {done.stderr.strip()}", pytrace=False
                )
            self.on = True

    def unblock(self) -> None:
        for command in self.OFF:
            subprocess.run(command.split(), capture_output=True, check=False)
        self.on = False


def _switch(protocol: int, what: str) -> Iterator[PacketSwitch]:
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        pytest.skip(f"blocking {what} affects the whole namespace: not with parallel workers")
    switch = PacketSwitch(protocol, what)
    yield switch
    switch.unblock()


@pytest.fixture
def udp_switch(netns_check: str) -> Iterator[PacketSwitch]:
    """A UDP ``PacketSwitch``, off: ``block()`` drops UDP from then on (e.g. mid-transfer)."""
    yield from _switch(17, "UDP")


@pytest.fixture
def udp_blocked(udp_switch: PacketSwitch) -> None:
    """Every UDP packet to the test address dropped, for this whole test."""
    udp_switch.block()


@pytest.fixture
def tcp_blocked(netns_check: str) -> Iterator[None]:
    """Every TCP packet to the test address dropped (the server is on 127.0.0.1 and stays
    reachable): a terminal sender's direct-TCP fast path cannot be reached."""
    for switch in _switch(6, "TCP"):
        switch.block()
        yield


@pytest.fixture(autouse=True)
def _in_test_namespace(netns_check: str) -> None:
    """Every test in tests/e2e requires the namespace."""


# -- artifacts ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/: screenshots the tests take; failures/ holds what a failing test
    left (a screenshot per page, the server log), emptied at the start of a run."""
    failures = ARTIFACTS / "failures"
    if "PYTEST_XDIST_WORKER" not in os.environ:  # workers would race each other
        shutil.rmtree(failures, ignore_errors=True)
    failures.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    """Did the test fail (in its setup or its body)?"""
    reports = [getattr(request.node, f"rep_{when}", None) for when in ("setup", "call")]
    return any(report is not None and report.failed for report in reports)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:120]


# -- the server ---------------------------------------------------------------------------


@pytest.fixture
def server_factory(
    tmp_path: Path, request: pytest.FixtureRequest, artifacts: Path
) -> Iterator[Callable[..., ServerProcess]]:
    """``server_factory(PEERLANE_MAX_BODY_BYTES="100", ...)``: a started server process."""
    started: list[ServerProcess] = []

    def make(**env: str) -> ServerProcess:
        proc = ServerProcess(
            tmp_path / f"data{len(started)}",
            env={"PEERLANE_HOST": LOOPBACK, "PEERLANE_LOG_LEVEL": "info", **env},
        )
        started.append(proc)
        return proc.start()

    yield make
    for proc in started:
        proc.stop()
        if _failed(request) and proc.log_path is not None and proc.log_path.exists():
            target = (
                artifacts
                / "failures"
                / f"{_slug(request.node.name)}-server{started.index(proc)}.log"
            )
            shutil.copyfile(proc.log_path, target)


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory()


# -- browsers -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with playwright_session() as pw:
        yield pw


@pytest.fixture
def browsers(
    playwright: Playwright, tmp_path: Path, request: pytest.FixtureRequest, artifacts: Path
) -> Iterator[Browsers]:
    pool = Browsers(playwright, tmp_path)
    yield pool
    shots = artifacts / "failures" / _slug(request.node.name) if _failed(request) else None
    problems = finish(pool, shots)
    if problems:
        pytest.fail("JavaScript errors in the browsers:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def browser_factory(browsers: Browsers) -> Browsers:
    """Another name for ``browsers``: ``browser_factory.new(name, ...)``."""
    return browsers


# -- Firefox (WebDriver BiDi, tests/e2e/firefox.py) ------------------------------------------


class Firefoxes:
    """``firefoxes.new(name, p2p=True)``: a firefox-esr with a fresh profile (its ``page``
    is a firefox.FirefoxPage). Any console error fails the test, as for Chromium."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.all: list[Any] = []

    def new(self, name: str, *, p2p: bool = True) -> Any:
        from e2e.firefox import Firefox

        browser = Firefox(name, self.root, p2p=p2p)
        self.all.append(browser)
        return browser


@pytest.fixture
def firefoxes(
    tmp_path: Path, request: pytest.FixtureRequest, artifacts: Path
) -> Iterator[Firefoxes]:
    pool = Firefoxes(tmp_path)
    yield pool
    for fx in pool.all:
        if _failed(request):
            try:
                shot = fx.bidi.command(
                    "browsingContext.captureScreenshot", {"context": fx.page.context}
                )
                import base64

                target = artifacts / "failures" / f"{_slug(request.node.name)}-{fx.name}.png"
                target.write_bytes(base64.b64decode(shot["data"]))
            except Exception as exc:  # best effort only
                print(f"screenshot of {fx.name} failed: {exc}")
        fx.close()
    problems = [f"[{fx.name}] {e}" for fx in pool.all for e in fx.errors]
    if problems:
        pytest.fail("JavaScript errors in Firefox:\n  " + "\n  ".join(problems), pytrace=False)

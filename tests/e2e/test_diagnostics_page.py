"""The /diagnostics page in Chromium, under the strict CSP, against a server that hands out
a real coturn (STUN and TURN over UDP and TCP, on loopback): every check runs and passes,
the verdict and report are the doctor's words, and the report can be copied. Without any
STUN or TURN the verdict says so."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

import coturn as coturn_lab
from peerlane.core.net_verdict import VERDICTS
from support import ServerProcess

pytestmark = pytest.mark.browser

ServerFactory = Callable[..., ServerProcess]
CHECK = "[data-testid=diag-check]"
VERDICT = "[data-testid=diag-verdict]"
# Two STUN answers and TURN allocations, each with a few seconds' timeout in the worst case.
RUN_TIMEOUT_MS = 45_000


@pytest.fixture
def turn() -> Iterator[coturn_lab.Coturn]:
    with coturn_lab.coturn() as server:
        yield server


def checks(page: Page) -> dict[str, tuple[bool, str]]:
    found: dict[str, tuple[bool, str]] = {}
    for row in page.locator(CHECK).all():
        name = row.get_attribute("data-name") or ""
        found[name] = (row.get_attribute("data-ok") == "true", row.inner_text())
    return found


def test_every_check_passes_with_coturn(
    server_factory: ServerFactory, browsers, turn: coturn_lab.Coturn
) -> None:
    host = f"127.0.0.1:{turn.port}"
    server = server_factory(
        PEERLANE_ICE_SERVERS=f'[{{"urls": ["stun:{host}"]}}]',
        PEERLANE_TURN_URLS=",".join(turn.urls),
        PEERLANE_TURN_SECRET=turn.secret,
    )
    browser = browsers.new("diag")
    browser.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = browser.page
    page.goto(f"{server.base}/diagnostics")
    expect(page.locator(VERDICT)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    found = checks(page)
    assert set(found) == {
        "server",
        "secure-context",
        "webrtc",
        f"STUN UDP {host}",
        f"TURN UDP {host}",
        f"TURN TCP {host}",
        "data-channel",
    }, found
    assert all(ok for ok, _ in found.values()), found
    assert "relay allocated at 127.0.0.1:" in found[f"TURN TCP {host}"][1]
    assert "MB/s" in found["data-channel"][1]
    expect(page.locator(VERDICT)).to_have_attribute("data-verdict", "direct")
    expect(page.locator(VERDICT)).to_have_text(VERDICTS["direct"])
    # One STUN server: the NAT's mapping cannot be told, and the page says so.
    expect(page.locator("[data-testid=diag-mapping]")).to_have_attribute("data-mapping", "unknown")

    page.locator("[data-testid=diag-copy]").click()
    expect(page.locator("[data-testid=diag-copied]")).to_have_text("Copied.")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == page.locator("[data-testid=diag-report]").text_content()
    assert f"PASS  TURN UDP {host}: relay allocated at 127.0.0.1:" in copied
    assert f"==>   {VERDICTS['direct']}" in copied
    assert not browser.errors, browser.errors


def test_without_stun_or_turn_the_verdict_says_so(server_factory: ServerFactory, browsers) -> None:
    server = server_factory()
    browser = browsers.new("diag-bare")
    page = browser.page
    page.goto(f"{server.base}/diagnostics")
    expect(page.locator(VERDICT)).to_have_attribute("data-verdict", "lan", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("[data-testid=diag-advice]")).to_contain_text(
        "The server offers no STUN or TURN server"
    )
    assert set(checks(page)) == {"server", "secure-context", "webrtc", "data-channel"}
    assert not browser.errors, browser.errors

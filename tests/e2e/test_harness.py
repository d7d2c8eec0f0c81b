"""The harness itself: namespace + Chromium + WebRTC, independent of the peerlane UI.

Two browsers (separate Chromium processes with fresh profiles) on the server's origin
build an RTCPeerConnection each; Python carries the offer, answer and ICE candidates
between them. With the normal flags the data channel opens host <-> host on 10.77.0.1;
with the "peer to peer impossible" flags ICE gathers nothing and fails.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from e2e.entry_state import open_entry
from e2e.helpers import SELECTED_PAIR_JS, TEST_ADDRESS, assert_host_pair, origin_page, wait_js

pytestmark = pytest.mark.browser

SETUP_JS = """
async (initiator) => {
  const pc = new RTCPeerConnection({iceServers: []});
  const probe = {pc, candidates: [], gathered: false, got: [], dc: null};
  window.__probe = probe;
  pc.onicecandidate = (e) => {
    if (e.candidate) probe.candidates.push(e.candidate.toJSON());
    else probe.gathered = true;
  };
  const use = (dc) => { probe.dc = dc; dc.onmessage = (e) => probe.got.push(e.data); };
  if (!initiator) {
    pc.ondatachannel = (e) => use(e.channel);
    return null;
  }
  use(pc.createDataChannel('probe'));
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription.toJSON();
}
"""

ANSWER_JS = """
async (offer) => {
  const pc = window.__probe.pc;
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  return pc.localDescription.toJSON();
}
"""

ADD_CANDIDATES_JS = """
async (candidates) => {
  for (const c of candidates) await window.__probe.pc.addIceCandidate(c);
  await window.__probe.pc.addIceCandidate();  // end of candidates
}
"""


def connect(a: Any, b: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Offer/answer and trickled candidates between two pages, via Python."""
    offer = a.evaluate(SETUP_JS, True)
    b.evaluate(SETUP_JS, False)
    answer = b.evaluate(ANSWER_JS, offer)
    a.evaluate("async (answer) => window.__probe.pc.setRemoteDescription(answer)", answer)
    for page in (a, b):
        wait_js(page, "() => window.__probe.gathered")
    cands_a = a.evaluate("window.__probe.candidates")
    cands_b = b.evaluate("window.__probe.candidates")
    b.evaluate(ADD_CANDIDATES_JS, cands_a)
    a.evaluate(ADD_CANDIDATES_JS, cands_b)
    return cands_a, cands_b


def test_webrtc_direct_host_to_host(server, browsers) -> None:
    started = time.monotonic()
    a, b = browsers.new("a").page, browsers.new("b").page
    for page in (a, b):
        origin_page(page, server.base)
        assert page.evaluate("window.isSecureContext")

    cands_a, cands_b = connect(a, b)
    # Exactly one host address is gathered (UDP, and TCP passive), never 127.0.0.1.
    for cands in (cands_a, cands_b):
        addresses = {c["candidate"].split()[4] for c in cands}
        assert addresses == {TEST_ADDRESS}, cands

    for page in (a, b):
        wait_js(page, "() => window.__probe.dc && window.__probe.dc.readyState === 'open'")
    a.evaluate("window.__probe.dc.send('hello from a')")
    wait_js(b, "() => window.__probe.got.includes('hello from a')")
    b.evaluate("window.__probe.dc.send('hello from b')")
    wait_js(a, "() => window.__probe.got.includes('hello from b')")

    for name, page in (("a", a), ("b", b)):
        # the stats may trail the open channel by a moment: wait for a succeeded pair
        pair = wait_js(
            page,
            f"async () => {{ const p = await ({SELECTED_PAIR_JS})(window.__probe.pc);"
            " return p && p.state === 'succeeded' && p; }",
            what="a succeeded candidate pair",
        )
        assert_host_pair(pair, name)
        assert pair["local"]["protocol"] == "udp", pair
    print(f"direct WebRTC probe: {time.monotonic() - started:.1f} s")


def test_webrtc_impossible_without_p2p(server, browsers) -> None:
    """``browsers.new(p2p=False)``: the profile's WebRTC IP handling policy forbids
    non-proxied UDP and there is no proxy, so not a single candidate is gathered: ICE
    has no candidate pair to check and can never connect (peerlane's mesh gives up on
    such a link after its 15 s connect timeout and routes through the server)."""
    started = time.monotonic()
    a, b = browsers.new("a", p2p=False).page, browsers.new("b", p2p=False).page
    for page in (a, b):
        origin_page(page, server.base)

    cands_a, cands_b = connect(a, b)
    assert cands_a == [], cands_a
    assert cands_b == [], cands_b
    for page in (a, b):
        stats = page.evaluate(
            """async () => {
              const types = [];
              (await window.__probe.pc.getStats()).forEach((s) => types.push(s.type));
              return {types, ice: window.__probe.pc.iceConnectionState,
                      gathering: window.__probe.pc.iceGatheringState,
                      channel: window.__probe.dc?.readyState ?? 'none'};
            }"""
        )
        assert stats["gathering"] == "complete", stats
        assert "candidate-pair" not in stats["types"], stats
        assert stats["ice"] in ("new", "checking"), stats
        assert stats["channel"] != "open", stats
    print(f"no candidates, no pairs after {time.monotonic() - started:.1f} s")


def test_webrtc_fails_when_udp_is_dropped(server, browsers, udp_blocked) -> None:
    """``udp_blocked``: candidates exist but every check is lost, so ICE fails."""
    started = time.monotonic()
    a, b = browsers.new("a").page, browsers.new("b").page
    for page in (a, b):
        origin_page(page, server.base)

    cands_a, cands_b = connect(a, b)
    assert cands_a, "no host candidate gathered"
    assert cands_b, "no host candidate gathered"
    for page in (a, b):
        wait_js(page, "() => window.__probe.pc.connectionState === 'failed'", timeout=30)
        assert page.evaluate("window.__probe.dc?.readyState") != "open"
    print(f"ICE failed after {time.monotonic() - started:.1f} s")


def test_harness_catches_js_errors_and_csp_violations(server, browsers) -> None:
    """The ``browsers`` fixture records uncaught errors, unhandled rejections and CSP
    violations (and would fail the test at teardown); here they are provoked on purpose,
    checked, then cleared."""
    b = browsers.new("probe")
    origin_page(b.page, server.base)
    b.page.evaluate(
        """() => {
          const s = document.createElement('script');
          s.textContent = 'window.__inline = 1';  // forbidden by script-src 'self'
          document.body.append(s);
          setTimeout(() => { throw new Error('boom from a timer'); });
          Promise.reject(new Error('nobody catches this'));
        }"""
    )
    wait_js(b.page, "() => true")  # let the timer run
    expected = ["CSP violation: script-src", "boom from a timer", "nobody catches this"]
    deadline = time.monotonic() + 10
    while not all(any(e in err for err in b.errors) for e in expected):
        assert time.monotonic() < deadline, b.errors
        b.page.wait_for_timeout(50)  # events arrive asynchronously from the browser
    assert b.page.evaluate("window.__inline") is None
    b.errors.clear()


def test_a_stuck_entry_page_says_why(server, browsers) -> None:
    """open_entry (the create/join helpers' first step) fails with what the page did, not
    a bare timeout: here the client's module graph cannot load (one module refused), so
    the report says the modules never ran and names the request that failed."""
    b = browsers.new("stuck")
    b.page.route("**/ui/home-page.js", lambda route: route.abort())
    with pytest.raises(AssertionError) as failed:
        open_entry(b.page, f"{server.base}/", timeout=3)
    said = str(failed.value)
    for words in ("no entry form after opening", "(HTTP 200)", "'modulesRan': False"):
        assert words in said, said
    assert "failed http" in said, said  # the refused request, named
    assert "/ui/home-page.js" in said, said
    b.errors.clear()  # the refused module is logged as an error: provoked on purpose

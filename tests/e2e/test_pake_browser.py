"""The browser's CPace (web/e2e/pake.js) in Chromium against core/pake.py: the page is
peerlane's own index.html under its real CSP, so the import map, its CSP hash and the
vendored @noble modules are what the browser loads. The browser plays the joiner, then the
member; the right words give the same keys, wrong words fail on both sides."""

from __future__ import annotations

from typing import Any

import pytest

from pake_channel import channel, js_channel
from peerlane.core.pake import CONFIRM_BYTES, JoinerPake, MemberPake, PakeFailed

pytestmark = pytest.mark.browser

# window.__pake: the module, and bytes <-> hex for the calls below.
LOAD_JS = """
async () => {
  const m = await import("/static/e2e/pake.js");
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const bytes = (h) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
  const channel = (c) => ({ ...c, sid: bytes(c.sid) });
  const attempt = (f) => { try { return f(); } catch (e) { return { failed: e.message }; } };
  window.__pake = { m, hex, bytes, channel, attempt, party: null };
  return Object.keys(m).includes("JoinerPake");
}
"""
START_JS = """
([role, words, c]) => {
  const { m, hex, channel } = window.__pake;
  const Party = role === "joiner" ? m.JoinerPake : m.MemberPake;
  window.__pake.party = new Party(words, channel(c));
  return hex(window.__pake.party.share);
}
"""
FINISH_JS = """
([share, confirm]) => {
  const { hex, bytes, party, attempt } = window.__pake;
  return attempt(() => {
    const out = party.finish(bytes(share), bytes(confirm));
    const { isk, handoverKey } = out.keys;
    return { confirm: hex(out.confirm), isk: hex(isk), handover: hex(handoverKey) };
  });
}
"""
RESPOND_JS = """
(share) => {
  const { hex, bytes, party, attempt } = window.__pake;
  return attempt(() => ({ confirm: hex(party.respond(bytes(share))) }));
}
"""
CONFIRM_JS = """
(confirm) => {
  const { hex, bytes, party, attempt } = window.__pake;
  return attempt(() => {
    const keys = party.confirm(bytes(confirm));
    return { isk: hex(keys.isk), handover: hex(keys.handoverKey) };
  });
}
"""


def test_browser_cpace_against_python(server: Any, browsers: Any) -> None:
    # server first: its teardown comes after the browsers close (the home page still
    # preloads the room page's modules in the background when the test ends)
    page = browsers.new("pake").page
    page.goto(f"{server.base}/")
    assert page.evaluate(LOAD_JS) is True

    # The browser joins, a Python member answers: right words.
    c = channel()
    member = MemberPake.start("amber-falcon", **c)
    share = page.evaluate(START_JS, ["joiner", "Amber Falcon", js_channel(c)])
    member_confirm = member.respond(bytes.fromhex(share))
    out = page.evaluate(FINISH_JS, [member.share.hex(), member_confirm.hex()])
    keys = member.confirm(bytes.fromhex(out["confirm"]))
    assert (out["isk"], out["handover"]) == (keys.isk.hex(), keys.handover_key.hex())

    # Wrong words: the browser's joiner refuses the member's confirmation, and the member
    # admits nobody.
    c = channel()
    member = MemberPake.start("amber-falcon", **c)
    share = page.evaluate(START_JS, ["joiner", "amber-fox", js_channel(c)])
    member_confirm = member.respond(bytes.fromhex(share))
    out = page.evaluate(FINISH_JS, [member.share.hex(), member_confirm.hex()])
    assert out == {"failed": "the code does not match"}
    with pytest.raises(PakeFailed):
        member.confirm(bytes(CONFIRM_BYTES))

    # A Python joiner, the browser as the member: right words, then wrong ones.
    for words, same in (("amber falcon", True), ("amber-fox", False)):
        c = channel()
        joiner = JoinerPake.start(words, **c)
        page.evaluate(START_JS, ["member", "amber-falcon", js_channel(c)])
        answer = page.evaluate(RESPOND_JS, joiner.share.hex())
        member_share = bytes.fromhex(
            page.evaluate("() => window.__pake.hex(window.__pake.party.share)")
        )
        if same:
            confirm, keys = joiner.finish(member_share, bytes.fromhex(answer["confirm"]))
            out = page.evaluate(CONFIRM_JS, confirm.hex())
            assert (out["isk"], out["handover"]) == (keys.isk.hex(), keys.handover_key.hex())
        else:
            with pytest.raises(PakeFailed):
                joiner.finish(member_share, bytes.fromhex(answer["confirm"]))
            out = page.evaluate(CONFIRM_JS, bytes(CONFIRM_BYTES).hex())
            assert out == {"failed": "the code does not match"}

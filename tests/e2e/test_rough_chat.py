"""Rough edges of the chat (issue #10) that live in the browser: what a person sees."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    MESSAGE,
    create_room_ui,
    invite_link,
    join_by_link_ui,
    room_ready,
    send_ui,
    wait_js,
)

pytestmark = pytest.mark.browser

# WCAG contrast of two computed CSS colours ("rgb(r, g, b)"), for a focus ring against
# what it is drawn on.
CONTRAST_JS = """
([a, b]) => {
  const lum = (c) => {
    const [r, g, bl] = c.match(/[\\d.]+/g).slice(0, 3).map((v) => {
      const x = Number(v) / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
"""

RING_JS = """
(el) => {
  const bubble = el.closest(".msg");
  return {
    focusVisible: el.matches(":focus-visible"),
    ring: getComputedStyle(el).outlineColor,
    width: getComputedStyle(el).outlineWidth,
    bubble: getComputedStyle(bubble).backgroundColor,
  };
}
"""


def test_controls_in_own_bubbles_have_a_visible_focus_ring(server, browsers, artifacts) -> None:
    """Rough edge 5: the focus ring was the own bubble's blue, so invisible there."""
    page: Page = browsers.new("alice").page
    create_room_ui(page, server.base, "alice")
    send_ui(page, "my own message https://example.org/x")
    row = page.locator(MESSAGE).filter(has_text="my own message")
    expect(row).to_have_attribute("data-state", "sent")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for control in (row.locator(".react-btn"), row.locator("a.msg-link")):
            control.focus()
            ring = control.evaluate(RING_JS)
            assert ring["focusVisible"], ring
            assert ring["width"] != "0px", ring
            contrast = page.evaluate(CONTRAST_JS, [ring["ring"], ring["bubble"]])
            assert contrast >= 3, (scheme, ring, contrast)
        page.screenshot(path=str(artifacts / f"own-bubble-focus-{scheme}.png"))


def test_a_message_too_long_is_kept_in_the_box_and_can_go_as_a_file(server, browsers) -> None:
    """Rough edge 4: a 200,000-character message is refused in the composer, in plain
    words, with the text kept (also across a reload); "Send as a file" sends it."""
    page: Page = browsers.new("alice").page
    create_room_ui(page, server.base, "alice")
    box = page.locator("#message-input")
    note = page.locator("#composer-length")
    expect(note).to_be_hidden()

    # 12,002 bytes of JSON; the server's limit is 16,384, an encrypted room's clear body
    # may be 12,245 (its envelope takes the rest: docs/protocol.md)
    box.fill("x" * 12_000)
    expect(note).to_be_visible()
    expect(note).to_contain_text("Nearly too long")

    text = "long " * 40_000
    box.fill(text)
    expect(note).to_contain_text("Too long for one message")
    expect(note).not_to_contain_text("Chat bodies")
    box.press("Enter")
    expect(box).to_have_attribute("aria-invalid", "")
    assert box.input_value() == text, "the text stays in the box"
    expect(page.locator(MESSAGE)).to_have_count(0)

    page.reload()
    expect(box).to_have_value(text)
    expect(note).to_contain_text("Too long for one message")

    page.get_by_role("button", name="Send as a file").click()
    expect(box).to_have_value("")
    expect(note).to_be_hidden()
    sent = page.evaluate(
        """() => window.peerlane.room.transfers.list()
             .filter((t) => t.direction === 'out').map((t) => [t.name, t.size])"""
    )
    assert len(sent) == 1, sent
    assert sent[0][0].startswith("message-"), sent
    assert sent[0][0].endswith(".txt"), sent
    assert sent[0][1] == len(text.encode()), sent


def test_background_badge_counts_new_messages_in_the_title_while_hidden(server, browsers) -> None:
    """The background badge: off by default, one remembered toggle; while the tab is
    hidden, new messages from others put "(N) " before the title, cleared when visible."""
    alice: Page = browsers.new("alice").page
    bob: Page = browsers.new("bob").page
    create_room_ui(alice, server.base, "alice", "Friday plans")
    join_by_link_ui(bob, invite_link(alice), "bob")
    toggle = alice.get_by_role(
        "button", name="Alert me to new messages while this tab is in the background"
    )
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    alice.reload()
    room_ready(alice)
    expect(toggle).to_have_attribute("aria-pressed", "true")  # remembered

    # Headless Chromium never hides a tab (another tab in front stays "visible"), so the
    # page's visibility is set as the browser would, with its visibilitychange event.
    hide_js = """(hidden) => {
      Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
      document.dispatchEvent(new Event("visibilitychange"));
    }"""
    send_ui(bob, "seen at once")
    has_js = "() => window.peerlane.room.messages.some((m) => m.body === {!r})"
    wait_js(alice, has_js.format("seen at once"), what="first")
    assert alice.title() == "Friday plans — peerlane", "a visible tab gets no badge"
    alice.evaluate(hide_js, True)
    send_ui(bob, "are you there?")
    send_ui(bob, "hello?")
    wait_js(alice, "() => document.title === '(2) Friday plans — peerlane'", what="the badge")
    send_ui(alice, "my own")  # own messages do not count
    wait_js(bob, has_js.format("my own"), what="own sent")
    assert alice.title() == "(2) Friday plans — peerlane"
    alice.evaluate(hide_js, False)
    wait_js(alice, "() => document.title === 'Friday plans — peerlane'", what="cleared")

"""Scenarios that run in Chromium and in Firefox alike (issue #16, item 8).

A scenario step takes a "page": :class:`ChromiumPage` (a thin adapter over a Playwright
page) or :class:`firefox.FirefoxPage` (WebDriver BiDi). Both offer the same few
operations -- ``goto``, ``url``, ``evaluate(fn_source, arg)``, ``wait_js``, ``click``,
``click_button``, ``fill``, ``press``, ``set_input_files``, ``wait_for_url`` and
``download`` -- and the steps below use only those, so one scenario runs on either.
The steps mirror tests/e2e/helpers.py (the Chromium-only suite) and its DOM contract.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from e2e.helpers import MESSAGE, PEER, ROOM_PAIRS_JS, TRANSFER, TRANSFERS, wait_js

if TYPE_CHECKING:
    from playwright.sync_api import Page


class AnyPage(Protocol):
    @property
    def url(self) -> str: ...
    def goto(self, url: str) -> None: ...
    def evaluate(self, function: str, arg: Any = None) -> Any: ...
    def wait_js(
        self, predicate: str, arg: Any = None, timeout: float = 15, what: str = ""
    ) -> Any: ...
    def click(self, selector: str) -> None: ...
    def click_button(self, name: str, within: str = "body") -> None: ...
    def fill(self, selector: str, text: str) -> None: ...
    def press(self, selector: str, key: str) -> None: ...
    def set_input_files(self, selector: str, paths: list[str]) -> None: ...
    def wait_for_url(self, pattern: str, timeout: float = 15) -> None: ...
    def download(self, click_selector: str, timeout: float = 120) -> Path: ...


class ChromiumPage:
    """A Playwright page seen through the cross-browser operations."""

    def __init__(self, page: Page, downloads: Path) -> None:
        self.page = page
        self.downloads = downloads

    @property
    def url(self) -> str:
        return self.page.url

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def evaluate(self, function: str, arg: Any = None) -> Any:
        return self.page.evaluate(function, arg)

    def wait_js(self, predicate: str, arg: Any = None, timeout: float = 15, what: str = "") -> Any:
        return wait_js(self.page, predicate, arg, timeout=timeout, what=what)

    def click(self, selector: str) -> None:
        self.page.locator(selector).first.click()

    def click_button(self, name: str, within: str = "body") -> None:
        self.page.locator(within).get_by_role("button", name=name, exact=True).click()

    def fill(self, selector: str, text: str) -> None:
        self.page.locator(selector).fill(text)

    def press(self, selector: str, key: str) -> None:
        self.page.locator(selector).press(key)

    def set_input_files(self, selector: str, paths: list[str]) -> None:
        self.page.set_input_files(selector, paths)

    def wait_for_url(self, pattern: str, timeout: float = 15) -> None:
        self.page.wait_for_url(pattern, timeout=timeout * 1000)

    def download(self, click_selector: str, timeout: float = 120) -> Path:
        with self.page.expect_download(timeout=timeout * 1000) as info:
            self.page.locator(click_selector).click()
        download = info.value
        assert download.failure() is None, download.failure()
        dest = self.downloads / f"{time.monotonic_ns()}-{download.suggested_filename}"
        download.save_as(dest)
        return dest


# -- the room: creating, joining, chatting -------------------------------------------------


def room_ready(p: AnyPage) -> str:
    room_id = str(
        p.wait_js(
            "() => window.peerlane?.room?.me && document.querySelector('pl-message-list')"
            " && window.peerlane.room.id",
            what="room page open",
        )
    )
    p.wait_js("() => window.peerlane.room.serverState === 'online'", what="server online")
    return room_id


def create_room(
    p: AnyPage, base: str, name: str, room_name: str = "", *, encrypted: bool = True
) -> str:
    p.goto(f"{base}/")
    p.fill("#display-name", name)
    if room_name:
        p.fill("#room-name", room_name)
    if not encrypted:
        p.click("#room-e2e")  # checked by default
    p.click_button("Create room")
    p.wait_for_url(f"{base}/r/*")
    return room_ready(p)


def join_by_link(p: AnyPage, link: str, name: str) -> str:
    p.goto(link)
    p.fill("#display-name", name)
    p.click_button("Join room")
    p.wait_for_url("**/r/*")
    return room_ready(p)


def join_by_code(p: AnyPage, base: str, code: str, name: str) -> str:
    p.goto(f"{base}/")
    p.fill("#display-name", name)
    p.fill("#join-code", code)
    p.click_button("Join")
    p.wait_for_url(f"{base}/r/*")
    return room_ready(p)


def text_of(p: AnyPage, selector: str, must_contain: str = "") -> str:
    return str(
        p.wait_js(
            "({selector, must}) => { const e = document.querySelector(selector);"
            " const t = e && e.textContent.trim(); return t && t.includes(must) && t; }",
            {"selector": selector, "must": must_contain},
            what=f"text of {selector}",
        )
    )


def invite_link(p: AnyPage) -> str:
    return text_of(p, "[data-testid=invite-link]", "/join#")


def invite_code(p: AnyPage) -> str:
    return text_of(p, "[data-testid=invite-code]")


def send(p: AnyPage, text: str) -> None:
    p.fill("#message-input", text)
    p.press("#message-input", "Enter")


def wait_messages(p: AnyPage, bodies: list[str], timeout: float = 15) -> list[dict[str, str]]:
    """Exactly len(bodies) rows, each body in exactly one; the rows (id, seq, text)."""
    rows = p.wait_js(
        """({sel, bodies}) => {
          const rows = [...document.querySelectorAll(sel)].map((r) => ({
            id: r.dataset.id, seq: r.dataset.seq, state: r.dataset.state, text: r.textContent}));
          const once = bodies.every((b) => rows.filter((r) => r.text.includes(b)).length === 1);
          return rows.length === bodies.length && once && rows;
        }""",
        {"sel": MESSAGE, "bodies": bodies},
        timeout=timeout,
        what=f"messages {bodies}",
    )
    return list(rows)


def mark(p: AnyPage, selector: str, text: str, inner: str = "") -> str:
    """A selector for the one element matching ``selector`` that contains ``text`` (and
    then its descendant ``inner``). An element with a ``data-id`` (a message row) is named
    by it, so the selector survives a re-render; any other gets a unique data attribute."""
    marker = f"m{time.monotonic_ns()}"
    found = p.wait_js(
        """({selector, text, inner, marker}) => {
          const hit = [...document.querySelectorAll(selector)].filter(
            (e) => e.textContent.includes(text));
          if (hit.length !== 1) return false;
          const el = inner ? hit[0].querySelector(inner) : hit[0];
          if (!el) return false;
          if (hit[0].dataset.id) return {id: hit[0].dataset.id};
          el.dataset.plMark = marker;
          return {marker};
        }""",
        {"selector": selector, "text": text, "inner": inner, "marker": marker},
        what=f"{selector} with {text!r} {inner}",
    )
    if "id" in found:
        return f"{selector}[data-id='{found['id']}'] {inner}".strip()
    return f"[data-pl-mark='{marker}']"


def message_action(p: AnyPage, text: str, action: str) -> None:
    """Press a message's action button (``edit``, ``delete``, ``confirm-delete``). Where
    the screen has no hover (headless Firefox matches ``(hover: none)``) the actions show
    after a tap on the bubble, as on a phone: tap it first when they are hidden."""
    button = mark(p, MESSAGE, text, f"[data-action={action}]")
    hidden = p.evaluate(
        "(s) => getComputedStyle(document.querySelector(s)).visibility === 'hidden'", button
    )
    if hidden:
        p.click(mark(p, MESSAGE, text, ".msg"))
    p.click(button)


def wait_direct(p: AnyPage, peers: int, timeout: float = 30) -> dict[str, Any]:
    """Every one of ``peers`` peers shown reached directly, each link's selected candidate
    pair succeeded; {peer id: pair}."""
    p.wait_js(
        "({sel, n}) => document.querySelectorAll(sel).length === n",
        {"sel": f"{PEER}[data-path=direct]", "n": peers},
        timeout=timeout,
        what=f"{peers} direct peers",
    )
    return dict(
        p.wait_js(
            f"async (n) => {{ const p = await ({ROOM_PAIRS_JS})(); const v = Object.values(p);"
            " return v.length === n && v.every((x) => x && x.state === 'succeeded') && p; }",
            peers,
            what="succeeded candidate pairs",
        )
    )


# -- files ---------------------------------------------------------------------------------


def offer_file(p: AnyPage, path: Path, to_name: str, timeout: float = 60) -> str:
    """Send ``path`` to ``to_name`` through "Send files" and the "Send to" dialog; the new
    transfer's id once hashed and offered."""
    known = set(
        p.evaluate(
            "(sel) => [...document.querySelectorAll(sel)].map((r) => r.dataset.transferId)",
            f"{TRANSFER}[data-direction=out]",
        )
    )
    p.set_input_files("#send-files-input", [str(path)])
    p.wait_js(
        """(name) => {
          const s = document.querySelector('#send-to #file-recipient');
          if (!s || s.getClientRects().length === 0) return false;
          const o = [...s.options].find((x) => x.textContent.trim() === name);
          if (!o) return false;
          s.value = o.value;
          s.dispatchEvent(new Event('input', {bubbles: true}));
          s.dispatchEvent(new Event('change', {bubbles: true}));
          return true;
        }""",
        to_name,
        what=f"recipient {to_name} in the Send to dialog",
    )
    p.click("#send-to-confirm")
    tid = str(
        p.wait_js(
            "({sel, known}) => [...document.querySelectorAll(sel)].map((r) => r.dataset.transferId)"
            ".find((id) => !known.includes(id))",
            {"sel": f"{TRANSFER}[data-direction=out]", "known": sorted(known)},
            what="the new outgoing transfer",
        )
    )
    view = p.wait_js(
        f"(id) => {{ const t = {TRANSFERS}.get(id);"
        " const offered = t && t.root && t.note?.code !== 'preparing';"
        " return t && (t.state === 'failed' || offered) && t; }",
        tid,
        timeout=timeout,
        what=f"{tid} hashed and offered",
    )
    assert view["state"] != "failed", view
    return tid


def row_selector(transfer_id: str) -> str:
    return f"{TRANSFER}[data-transfer-id='{transfer_id}']"


def accept(p: AnyPage, transfer_id: str, timeout: float = 20) -> None:
    row = row_selector(transfer_id)
    p.wait_js(
        "(sel) => document.querySelector(sel)?.dataset.state === 'offered'",
        row,
        timeout=timeout,
        what=f"offer {transfer_id}",
    )
    p.click_button("Accept", within=row)


def wait_transfer(p: AnyPage, transfer_id: str, timeout: float = 120) -> dict[str, Any]:
    view = p.wait_js(
        f"(id) => {{ const t = {TRANSFERS}.get(id);"
        " return t && ['done', 'failed', 'cancelled'].includes(t.state) && t; }",
        transfer_id,
        timeout=timeout,
        what=f"transfer {transfer_id} done",
    )
    assert view["state"] == "done", view
    return dict(view)


def stats(p: AnyPage, transfer_id: str) -> dict[str, Any]:
    return dict(p.evaluate(f"(id) => {TRANSFERS}.stats()[id]", transfer_id))


def save(p: AnyPage, transfer_id: str, timeout: float = 120) -> Path:
    """Press "Save" on a received file; the file the browser downloaded."""
    button = mark(p, f"{row_selector(transfer_id)} button", "Save")
    return p.download(button, timeout=timeout)

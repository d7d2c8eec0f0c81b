"""Helpers shared by the browser tests: in-page JavaScript and small waits.

Every wait is for a condition (``expect``, ``wait_for_function``) with a deadline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from e2e.entry_state import open_entry, wait_for_room_url

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

TEST_ADDRESS = "10.77.0.1"

# The selected candidate pair of an RTCPeerConnection, as plain data:
# {state, local: {type, address, protocol}, remote: {...}} or null before one exists.
SELECTED_PAIR_JS = """
async (pc) => {
  const stats = await pc.getStats();
  const by = new Map();
  stats.forEach((s) => by.set(s.id, s));
  let pair = null;
  for (const s of by.values()) {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      pair = by.get(s.selectedCandidatePairId);
    }
  }
  if (!pair) {
    for (const s of by.values()) {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    }
  }
  if (!pair) return null;
  const side = (c) => c && ({type: c.candidateType, address: c.address || c.ip,
                             protocol: c.protocol, port: c.port});
  return {state: pair.state, local: side(by.get(pair.localCandidateId)),
          remote: side(by.get(pair.remoteCandidateId))};
}
"""


def assert_host_pair(pair: Any, where: str = "") -> None:
    """A selected pair that is host <-> host on the test address, over UDP."""
    assert pair is not None, f"{where}: no selected candidate pair in getStats()"
    assert pair["state"] == "succeeded", f"{where}: {pair}"
    for side in ("local", "remote"):
        cand = pair[side]
        assert cand["type"] == "host", f"{where}: {side} candidate is not host: {pair}"
        assert cand["address"] == TEST_ADDRESS, f"{where}: {side} not on {TEST_ADDRESS}: {pair}"


def wait_js(
    page: Page, predicate: str, arg: Any = None, timeout: float = 15, what: str = ""
) -> Any:
    """Wait until the JS function ``predicate`` (source, e.g. ``"() => window.x"``; it may
    be async and takes ``arg``) returns something truthy in ``page``; returns that value.

    Playwright's ``wait_for_function`` compiles its predicate with ``eval``, which the
    peerlane CSP (``script-src 'self'``) forbids; ``evaluate`` of a function is not eval.
    """
    js = f"""async (arg) => {{
      const predicate = {predicate};
      const deadline = Date.now() + {int(timeout * 1000)};
      let last;
      for (;;) {{
        try {{ last = await predicate(arg); }} catch (e) {{ last = undefined; }}
        if (last) return {{ok: true, value: last}};
        if (Date.now() > deadline) return {{ok: false, value: last === undefined ? null : last}};
        await new Promise((resolve) => setTimeout(resolve, 50));
      }}
    }}"""
    result = page.evaluate(js, arg)
    if not result["ok"]:
        raise AssertionError(
            f"timed out after {timeout} s waiting for {what or predicate} "
            f"(last value {result['value']!r})"
        )
    return result["value"]


def origin_page(page: Page, base: str) -> None:
    """Put ``page`` on the server's origin (a secure context: http://127.0.0.1)."""
    page.goto(f"{base}/healthz")


# -- the peerlane UI (docs/web-client.md, "DOM contract") ---------------------------------

MESSAGE = "[data-testid=message]"
PEER = "[data-testid=peer]"
STATUS = "[data-testid=connection-status]"

# The RTCPeerConnections of the room's mesh (ChatRoom._links.mesh._links: peer id -> Link{pc}).
ROOM_PCS_JS = """
() => {
  const mesh = window.peerlane?.room?._links?.mesh;
  return mesh ? [...mesh._links.entries()].map(([peer, link]) => ({peer, pc: link.pc})) : [];
}
"""

# {peer id: selected pair} for every link of the room's mesh.
ROOM_PAIRS_JS = f"""
async () => {{
  const selected = {SELECTED_PAIR_JS};
  const out = {{}};
  for (const {{peer, pc}} of ({ROOM_PCS_JS})()) out[peer] = await selected(pc);
  return out;
}}
"""


def room_ready(page: Page, online: bool = True) -> str:
    """Wait for the room page to be open (window.peerlane.room started) and, unless
    ``online=False``, connected to the server; the room id."""
    from playwright.sync_api import expect

    expect(page.locator("pl-message-list")).to_have_count(1)
    expect(page.locator(STATUS)).to_be_visible()
    room_id = str(wait_js(page, "() => window.peerlane?.room?.me && window.peerlane.room.id"))
    if online:
        wait_online(page)
    return room_id


def wait_online(page: Page) -> None:
    wait_js(page, "() => window.peerlane?.room?.serverState === 'online'", what="server online")


def create_room_ui(
    page: Page, base: str, name: str, room_name: str = "", *, encrypted: bool = True
) -> str:
    """On the home page: type the name (and room name), "Create room"; the room id.
    ``encrypted=False``: without end-to-end encryption (a room joined by code)."""
    open_entry(page, f"{base}/")
    page.locator("#display-name").fill(name)
    if room_name:
        page.locator("#room-name").fill(room_name)
    if not encrypted:
        page.locator("#room-e2e").uncheck()
    page.get_by_role("button", name="Create room").click()
    wait_for_room_url(page, f"{base}/r/*")
    return room_ready(page)


def join_by_link_ui(page: Page, link: str, name: str) -> str:
    open_entry(page, link)
    page.locator("#display-name").fill(name)
    page.get_by_role("button", name="Join room").click()
    wait_for_room_url(page, "**/r/*")
    return room_ready(page)


def join_by_code_ui(page: Page, base: str, code: str, name: str) -> str:
    open_entry(page, f"{base}/")
    page.locator("#display-name").fill(name)
    page.locator("#join-code").fill(code)
    page.get_by_role("button", name="Join", exact=True).click()
    wait_for_room_url(page, f"{base}/r/*")
    return room_ready(page)


def invite_link(page: Page) -> str:
    from playwright.sync_api import expect

    link = page.locator("[data-testid=invite-link]")
    expect(link).to_contain_text("/join#")
    return link.inner_text().strip()


def invite_code(page: Page) -> str:
    from playwright.sync_api import expect

    code = page.locator("[data-testid=invite-code]")
    expect(code).not_to_be_empty()
    return code.inner_text().strip()


def send_ui(page: Page, text: str) -> None:
    """Type into the composer and press Enter."""
    box = page.locator("#message-input")
    box.fill(text)
    box.press("Enter")


def rendered(page: Page) -> list[dict[str, str]]:
    """The rendered message rows in DOM order: id, seq, sender, state, text."""
    return page.locator(MESSAGE).evaluate_all(
        """(rows) => rows.map((r) => ({id: r.dataset.id, seq: r.dataset.seq,
             sender: r.dataset.sender, state: r.dataset.state, text: r.textContent}))"""
    )


def rendered_ids(page: Page) -> list[str]:
    return [row["id"] for row in rendered(page)]


def wait_messages(page: Page, bodies: list[str], timeout: float = 15) -> list[dict[str, str]]:
    """Wait until exactly len(bodies) rows are rendered, each body once; the rows."""
    from playwright.sync_api import expect

    expect(page.locator(MESSAGE)).to_have_count(len(bodies), timeout=timeout * 1000)
    for body in bodies:
        expect(page.locator(MESSAGE).filter(has_text=body)).to_have_count(1, timeout=timeout * 1000)
    return rendered(page)


def history(page: Page, room_id: str, *, opened: bool = True) -> list[dict[str, Any]]:
    """The room's history as the server has it, read with the page's cookie session;
    in an end-to-end encrypted room with bodies opened by the page's room key, unless
    ``opened=False`` (then as stored: sealed)."""
    out = page.evaluate(
        """async ([id, opened]) => {
          const r = await fetch('/api/rooms/' + id + '/messages?limit=200');
          if (!r.ok) throw new Error('history: HTTP ' + r.status);
          const messages = (await r.json()).messages;
          const e2e = window.peerlane?.room?.e2e;
          return opened && e2e ? Promise.all(messages.map((m) => e2e.openMessage(m))) : messages;
        }""",
        [room_id, opened],
    )
    return list(out)


# -- file transfer (docs/file-transfer.md, "DOM contract" and "Engine API") ---------------

MIB = 1024 * 1024
TRANSFER = "[data-testid=transfer]"
# The engine of the open room (also window.peerlane.transfers).
TRANSFERS = "window.peerlane.room.transfers"

# Every RTCDataChannel a page creates or is given whose label starts with "file:", kept
# in window.__fileChannels (an init script: install before the room page loads). The
# receiver opens a transfer's channel, so on its page this sees each (re)open.
FILE_CHANNELS_INIT = """
(() => {
  const seen = (window.__fileChannels = []);
  const keep = (ch) => {
    if (ch && String(ch.label).startsWith('file:')) seen.push(ch);
    return ch;
  };
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    return keep(create.apply(this, args));
  };
  const listen = RTCPeerConnection.prototype.addEventListener;
  RTCPeerConnection.prototype.addEventListener = function (type, fn, ...rest) {
    if (type === 'datachannel') {
      const inner = fn;
      fn = function (ev) {
        keep(ev.channel);
        return typeof inner === 'function' ? inner.call(this, ev) : inner.handleEvent(ev);
      };
    }
    return listen.call(this, type, fn, ...rest);
  };
  const desc = Object.getOwnPropertyDescriptor(RTCPeerConnection.prototype, 'ondatachannel');
  Object.defineProperty(RTCPeerConnection.prototype, 'ondatachannel', {
    configurable: true,
    get() { return desc.get.call(this); },
    set(fn) { desc.set.call(this, fn && ((ev) => { keep(ev.channel); return fn(ev); })); },
  });
})();
"""


def random_file(path: Path, size: int) -> tuple[str, str]:
    """Write ``size`` random bytes to ``path`` (8 MiB at a time); (SHA-256, integrity root)
    of them, both hex. The root is peerlane's block-tree root (docs/protocol.md)."""
    import hashlib
    import os

    from peerlane.core.integrity import TreeHasher

    digest, tree = hashlib.sha256(), TreeHasher()
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(left, 8 * MIB))
            out.write(chunk)
            digest.update(chunk)
            tree.update(chunk)
            left -= len(chunk)
    return digest.hexdigest(), tree.root()


def sha256_file(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def transfer_row(page: Page, transfer_id: str) -> Locator:
    return page.locator(f"{TRANSFER}[data-transfer-id='{transfer_id}']")


def transfer_ids(page: Page, direction: str) -> list[str]:
    return page.locator(f"{TRANSFER}[data-direction={direction}]").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.transferId)"
    )


def offer_files_ui(
    page: Page, paths: list[Path], to_name: str | None = None, timeout: float = 60
) -> list[str]:
    """Pick ``paths`` with the room's "Send files" input, choose the recipient in the
    "Send to" dialog (``None`` = Everyone) and press Send; the new outgoing transfer ids
    once the sender has hashed every file and offered it (its row carries ``data-root``),
    in the order of ``paths``."""
    from playwright.sync_api import expect

    before = set(transfer_ids(page, "out"))
    page.set_input_files("#send-files-input", [str(p) for p in paths])
    recipient = page.locator("#send-to #file-recipient")
    expect(recipient).to_be_visible()
    if to_name is None:
        recipient.select_option(value="")
    else:
        expect(recipient.locator("option", has_text=to_name)).to_have_count(1)
        recipient.select_option(label=to_name)
    page.click("#send-to-confirm")
    out = page.locator(f"{TRANSFER}[data-direction=out]")
    expect(out).to_have_count(len(before) + len(paths))
    new = [tid for tid in transfer_ids(page, "out") if tid not in before]
    by_name = {page.evaluate(f"(id) => {TRANSFERS}.get(id).name", tid): tid for tid in new}
    ids = [by_name[p.name] for p in paths]
    for tid in ids:
        view = wait_js(
            page,
            f"(id) => {{ const t = {TRANSFERS}.get(id);"
            " const offered = t && t.root && t.note?.code !== 'preparing';"
            " return t && (t.state === 'failed' || offered) && t; }",
            tid,
            timeout=timeout,
            what=f"{tid} hashed and offered",
        )
        assert view["state"] != "failed", view
        expect(transfer_row(page, tid)).not_to_have_attribute("data-root", "")
    return ids


def accept_ui(page: Page, transfer_id: str, timeout: float = 20) -> None:
    """Wait for the offer on the receiver's page and press its Accept button."""
    from playwright.sync_api import expect

    row = transfer_row(page, transfer_id)
    expect(row).to_have_attribute("data-state", "offered", timeout=timeout * 1000)
    row.get_by_role("button", name="Accept").click()
    expect(row).not_to_have_attribute("data-state", "offered")
    # The pressed button is gone; focus stays on the transfer (docs/web-client.md).
    expect(row).to_be_focused()


def wait_transfer(
    page: Page, transfer_id: str, state: str = "done", timeout: float = 120
) -> dict[str, Any]:
    """The engine's view of the transfer once it reaches ``state``; fails at once (with
    the view) if it fails or is cancelled instead."""
    view = wait_js(
        page,
        f"({{id, state}}) => {{ const t = {TRANSFERS}.get(id);"
        " return t && [state, 'failed', 'cancelled'].includes(t.state) && t; }",
        {"id": transfer_id, "state": state},
        timeout=timeout,
        what=f"transfer {transfer_id} {state}",
    )
    assert view["state"] == state, view
    return dict(view)


def transfer_stats(page: Page, transfer_id: str) -> dict[str, Any]:
    """``transfers.stats()[id]``: bytesSent, bytesReceived, path, blocksVerified, blocksBad."""
    return dict(page.evaluate(f"(id) => {TRANSFERS}.stats()[id]", transfer_id))


def save_received_ui(page: Page, transfer_id: str, dest: Path, timeout: float = 120) -> Path:
    """Press "Save" on a received file and keep what the browser downloads at ``dest``."""
    row = transfer_row(page, transfer_id)
    with page.expect_download(timeout=timeout * 1000) as info:
        row.get_by_role("button", name="Save").click()
    download = info.value
    download.save_as(dest)
    assert download.failure() is None, download.failure()
    return dest


def room_files(page: Page, room_id: str) -> list[dict[str, Any]]:
    """The room's files on the server (``GET /api/rooms/{id}/files``), with the page's session."""
    out = page.evaluate(
        """async (id) => {
          const r = await fetch('/api/rooms/' + id + '/files');
          if (!r.ok) throw new Error('files: HTTP ' + r.status);
          return (await r.json()).files;
        }""",
        room_id,
    )
    return list(out)


def in_side_panel(page: Page, target: Locator, timeout: float = 15) -> Locator:
    """``target``, a part of the side panel, shown: on a narrow window it sits behind the
    panel's toggle, on a wide one it is always there (and the toggle hidden). Waits for
    whichever appears first, since on a slow machine neither is there at once."""
    from playwright.sync_api import expect

    toggle = page.locator("[aria-controls=side-panel]").first
    expect(target.or_(toggle).filter(visible=True).first).to_be_visible(timeout=timeout * 1000)
    if not target.is_visible():
        toggle.click()
    expect(target).to_be_visible(timeout=timeout * 1000)
    return target

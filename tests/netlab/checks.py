"""What every scenario of the matrix checks: chat both ways exactly once and in order, a
hash-checked file, and the path the pair's selected ICE pair takes (from getStats)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from e2e.helpers import (
    MIB,
    PEER,
    accept_ui,
    offer_files_ui,
    random_file,
    save_received_ui,
    send_ui,
    sha256_file,
    wait_js,
    wait_transfer,
)

FILE_SIZE = 4 * MIB
# ICE with everything blocked: the mesh gives up after its 15 s connect timeout.
CONNECT_TIMEOUT = 40


def path_of(found: dict[str, Any]) -> str:
    """The path words of a selected pair (ROOM_PATH_JS), as the scenarios name them."""
    types = {found["local"], found["remote"]}
    if "relay" in types:
        return f"turn-{found['protocol']}" if found["protocol"] else "turn"
    if types == {"host"}:
        return "host"
    return "srflx"  # server- or peer-reflexive on at least one side: through the NATs


# The selected pair of the room's one link: both candidates' types, and the relay protocol
# (udp / tcp / tls: how this side reaches its TURN server) when the local one is a relay,
# and both candidates' addresses (a relay's: the TURN server's relay address).
ROOM_PATH_JS = """
async () => {
  const link = [...window.peerlane.room._links.mesh._links.values()][0];
  if (!link) return null;
  const stats = await link.pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId)
      pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair || pair.state !== 'succeeded') return null;
  const local = stats.get(pair.localCandidateId);
  const remote = stats.get(pair.remoteCandidateId);
  return {local: local.candidateType, remote: remote.candidateType,
          localAddress: local.address ?? local.ip, remoteAddress: remote.address ?? remote.ip,
          protocol: local.candidateType === 'relay' ? local.relayProtocol ?? null : null};
}
"""


# The texts of the room's chat messages, in the order the room shows them.
ROOM_TEXTS_JS = """() => window.peerlane.room.messages
  .filter((m) => m.kind === 'text').map((m) => String(m.body))"""
# The message list's rows in the DOM and the count of rows it lays out (data-total).
LIST_JS = """() => { const list = document.querySelector('pl-message-list');
  return {total: Number(list.dataset.total),
          rows: [...list.querySelectorAll('[data-testid=message]')].map((r) => r.textContent)}; }"""


def wait_chat(page: Page, everything: Sequence[str], timeout: float = 30) -> None:
    """The room holds exactly ``everything``, each once and in this order, and its list
    draws the newest of them last. The list is virtualized (ui/message-list.js): only the rows in
    view and the overscan exist in the DOM, stuck to the newest, so those must be the tail
    of the same order; with a long enough conversation the oldest row is not in the DOM."""
    want = list(everything)
    with contextlib.suppress(AssertionError):  # the comparison below says what differs
        wait_js(
            page,
            f"(want) => JSON.stringify(({ROOM_TEXTS_JS})()) === JSON.stringify(want)",
            want,
            timeout=timeout,
            what="the room's messages",
        )
    held = page.evaluate(ROOM_TEXTS_JS)
    assert held == want, held
    # The newest message drawn: the rows in the DOM are then the tail of the same order
    # (file rows of the timeline are other elements, and the oldest rows may be cut).
    listed = wait_js(
        page,
        f"(last) => {{ const l = ({LIST_JS})(); "
        "return l.rows.length > 0 && l.rows[l.rows.length - 1].includes(last) && l; }",
        want[-1],
        timeout=timeout,
        what=f"the newest message, {want[-1]!r}, drawn",
    )
    shown = [next((t for t in want if t in row), row) for row in listed["rows"]]
    assert shown == want[len(want) - len(shown) :], shown


def chat_both_ways(a: Page, b: Page, tag: str, earlier: Sequence[str] = ()) -> list[str]:
    """Three messages each way; both pages hold them after the ``earlier`` ones, each
    exactly once, in send order (wait_chat). Returns every message text so far."""
    mine = [f"{tag} a{i}" for i in range(3)]
    theirs = [f"{tag} b{i}" for i in range(3)]
    for text in mine:
        send_ui(a, text)
    wait_chat(b, [*earlier, *mine])
    for text in theirs:
        send_ui(b, text)
    everything = [*earlier, *mine, *theirs]
    for page in (a, b):
        wait_chat(page, everything)
    return everything


def file_a_to_b(a: Page, b: Page, tmp: Path) -> dict[str, Any]:
    path = tmp / "lab-file.bin"
    sha, _ = random_file(path, FILE_SIZE)
    (tid,) = offer_files_ui(a, [path], to_name="bob")
    accept_ui(b, tid, timeout=30)
    view = wait_transfer(b, tid, "done", timeout=120)
    saved = save_received_ui(b, tid, tmp / "lab-file.saved")
    assert sha256_file(saved) == sha, "the received file differs from the one sent"
    return view


def relay_addresses(found: dict[str, Any]) -> set[str]:
    """The addresses of the relay candidates in a selected pair (ROOM_PATH_JS)."""
    return {found[f"{side}Address"] for side in ("local", "remote") if found[side] == "relay"}


# Short pauses between the mesh's tries for a better path (mesh-upgrade.js): 2 s, then 4 s
# at most, so that a test sees the upgrade within seconds of lifting the rules.
FAST_UPGRADES = (
    "try { localStorage.setItem('peerlaneUpgradeMs', '2000');"
    " localStorage.setItem('peerlaneUpgradeMaxMs', '4000'); } catch {}"
)


def wait_path(a: Page, b: Page, path: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Both rooms' panels show the link to the other on ``path``."""
    for page in (a, b):
        expect(page.locator(f"{PEER}[data-path={path}]")).to_have_count(1, timeout=timeout * 1000)

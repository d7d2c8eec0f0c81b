"""File transfer between real browsers (docs/file-transfer.md): peer to peer on a data
channel per transfer, one to everyone, resume after a dropped channel, after the whole
peer connection dies and after a reload of the receiver (each costing at most 1.1 x the
file size on the wire, by the sender's ``transfers.stats()``), and the server (tus +
Range) when peer to peer is impossible, also for a receiver who accepts an offer to
everyone after another one finished directly (issue #9, finding 11). Share links: test_share.py.

Every test writes random bytes to disk, hands the file to the sender's page through the
room's "Send files" input, accepts through the receiver's "Accept" button and, once
done, presses "Save": the browser's download is compared by SHA-256 with the file on
disk, in Python (independent of the engine's own block and root checks).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    FILE_CHANNELS_INIT,
    MIB,
    PEER,
    ROOM_PCS_JS,
    TRANSFERS,
    accept_ui,
    create_room_ui,
    invite_link,
    join_by_link_ui,
    offer_files_ui,
    random_file,
    room_files,
    room_ready,
    save_received_ui,
    sha256_file,
    transfer_row,
    transfer_stats,
    wait_js,
    wait_transfer,
)

pytestmark = pytest.mark.browser

BIG = 200 * MIB  # the peer-to-peer size
RESUME_SIZE = 64 * MIB  # interruption tests: 1.1 x size leaves 6.4 MiB of room
SMALL = 20 * MIB
WIRE_LIMIT = 1.1  # bytes the sender puts on the wire, at most, x the file size


def room_of(
    server, browsers, names: list[str], *, p2p: bool = True, init: str = ""
) -> tuple[str, list[Page]]:
    """The first name creates a room, the others join by the invite link; with ``p2p``
    everyone waits until every other participant is reached directly."""
    pages = []
    for name in names:
        browser = browsers.new(name, p2p=p2p)
        if init:
            browser.context.add_init_script(init)
        pages.append(browser.page)
    room_id = create_room_ui(pages[0], server.base, names[0])
    # An end-to-end encrypted room: every transfer here is sealed (docs/file-transfer.md).
    expect(pages[0].locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "on")
    link = invite_link(pages[0])
    for page, name in zip(pages[1:], names[1:], strict=True):
        assert join_by_link_ui(page, link, name) == room_id
    if p2p:
        for page in pages:
            expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(
                len(names) - 1, timeout=30_000
            )
    return room_id, pages


def receive_and_check(
    page: Page, tid: str, path: Path, sha: str, tmp: Path, timeout: float
) -> dict[str, Any]:
    """Wait for the receiver's "done", save the file through the UI, compare SHA-256."""
    view = wait_transfer(page, tid, "done", timeout=timeout)
    row = transfer_row(page, tid)
    expect(row).to_have_attribute("data-state", "done")
    saved = save_received_ui(
        page, tid, tmp / f"saved-{tid}-{page.evaluate('window.peerlane.room.me.name')}"
    )
    assert saved.stat().st_size == path.stat().st_size
    assert sha256_file(saved) == sha, "the saved file differs from the one sent"
    return view


def progress(page: Page, tid: str) -> float:
    """Bytes the receiver verified so far, as a fraction of the size."""
    view = page.evaluate(f"(id) => {TRANSFERS}.get(id)", tid)
    return view["bytesDone"] / view["size"] if view and view["size"] else 0.0


def file_channels(page: Page, tid: str) -> int:
    """How many data channels the page saw for the transfer (FILE_CHANNELS_INIT records
    them): more than one once it went on over a new channel."""
    count: int = page.evaluate(
        "(id) => window.__fileChannels.filter((c) => c.label === 'file:' + id).length", tid
    )
    return count


def wait_progress(page: Page, tid: str, fraction: float, timeout: float = 120) -> float:
    return float(
        wait_js(
            page,
            f"({{id, fraction}}) => {{ const t = {TRANSFERS}.get(id);"
            " return t && t.state === 'receiving' && t.bytesDone >= fraction * t.size"
            " && t.bytesDone / t.size; }",
            {"id": tid, "fraction": fraction},
            timeout=timeout,
            what=f"{fraction:.0%} received",
        )
    )


def test_200mb_browser_to_browser_peer_to_peer(server, browsers, tmp_path: Path) -> None:
    room_id, (a, b) = room_of(server, browsers, ["alice", "bob"])
    path = tmp_path / "random-200M.bin"
    sha, root = random_file(path, BIG)

    started = time.monotonic()
    (tid,) = offer_files_ui(a, [path], to_name="bob", timeout=120)
    offered = time.monotonic()
    # The offer carries the integrity root of the bytes on disk.
    expect(transfer_row(a, tid)).to_have_attribute("data-root", root)
    row_b = transfer_row(b, tid)
    expect(row_b).to_have_attribute("data-direction", "in", timeout=20_000)
    expect(row_b.get_by_test_id("transfer-name")).to_have_text(path.name)
    expect(row_b).to_have_attribute("data-root", root)
    accept_ui(b, tid)
    accepted = time.monotonic()
    # Bytes move: the row says how (data-path stays "" until they do).
    expect(row_b).to_have_attribute("data-path", "direct", timeout=30_000)
    expect(row_b.get_by_test_id("transfer-path")).to_have_text("Direct")

    view = wait_transfer(b, tid, "done", timeout=400)
    done = time.monotonic()
    assert view["path"] == "direct", view
    assert view["bytesDone"] == BIG, view
    out = wait_transfer(a, tid, "done", timeout=30)
    assert [r["state"] for r in out["receivers"]] == ["done"], out
    expect(transfer_row(a, tid)).to_have_attribute("data-state", "done")

    sent, got = transfer_stats(a, tid), transfer_stats(b, tid)
    assert sent["path"] == "direct", sent
    assert got["path"] == "direct", got
    assert BIG <= sent["bytesSent"] <= WIRE_LIMIT * BIG, sent
    assert got["blocksVerified"] == BIG // MIB, got
    assert got["blocksBad"] == 0, got
    # Nothing went through the server.
    assert room_files(a, room_id) == []

    receive_and_check(b, tid, path, sha, tmp_path, timeout=30)
    print(
        f"200 MiB: hashing+offer {offered - started:.1f} s, accept→done {done - accepted:.1f} s "
        f"({BIG / MIB / (done - accepted):.1f} MiB/s), saved and checked "
        f"{time.monotonic() - done:.1f} s; wire {sent['bytesSent'] / BIG:.3f} x size"
    )


def test_one_to_everyone_in_a_room_of_three(server, browsers, tmp_path: Path) -> None:
    room_id, (a, b, c) = room_of(server, browsers, ["alice", "bob", "carol"])
    path = tmp_path / "for-everyone.bin"
    sha, root = random_file(path, SMALL)

    started = time.monotonic()
    (tid,) = offer_files_ui(a, [path], to_name=None)
    expect(transfer_row(a, tid).get_by_test_id("transfer-sender")).to_have_text(
        "From you to everyone"
    )
    for page in (b, c):
        expect(transfer_row(page, tid).get_by_test_id("transfer-sender")).to_have_text(
            "From alice", timeout=20_000
        )
    for page in (b, c):
        accept_ui(page, tid)
    for page in (b, c):
        view = receive_and_check(page, tid, path, sha, tmp_path, timeout=180)
        assert view["path"] == "direct", view
        assert view["root"] == root, view

    out = wait_transfer(a, tid, "done", timeout=30)
    assert sorted((r["name"], r["state"]) for r in out["receivers"]) == [
        ("bob", "done"),
        ("carol", "done"),
    ], out
    sent = transfer_stats(a, tid)
    # One copy per receiver, each on its own channel.
    assert 2 * SMALL <= sent["bytesSent"] <= 2 * WIRE_LIMIT * SMALL, sent
    assert room_files(a, room_id) == []
    print(f"20 MiB to two receivers: {time.monotonic() - started:.1f} s")


def test_resume_after_the_data_channel_drops(server, browsers, tmp_path: Path) -> None:
    """At about half way the receiver's transfer channel is closed (as a network drop
    would): the receiver opens a new one and asks from its first unverified block."""
    _, (a, b) = room_of(server, browsers, ["alice", "bob"], init=FILE_CHANNELS_INIT)
    path = tmp_path / "dropped.bin"
    sha, _ = random_file(path, RESUME_SIZE)

    (tid,) = offer_files_ui(a, [path], to_name="bob")
    accept_ui(b, tid)
    started = time.monotonic()
    at = wait_progress(b, tid, 0.5)
    closed = b.evaluate(
        """(id) => {
          const open = window.__fileChannels.filter(
            (c) => c.label === 'file:' + id && c.readyState === 'open');
          for (const c of open) c.close();
          return open.length;
        }""",
        tid,
    )
    assert closed == 1, f"expected one open transfer channel, closed {closed}"
    left_at = progress(b, tid)

    view = receive_and_check(b, tid, path, sha, tmp_path, timeout=180)
    assert view["path"] == "direct", view
    channels = file_channels(b, tid)
    assert channels >= 2, f"no new channel after the drop ({channels})"
    sent = transfer_stats(a, tid)
    assert RESUME_SIZE <= sent["bytesSent"] <= WIRE_LIMIT * RESUME_SIZE, sent
    assert wait_transfer(a, tid, "done", timeout=30)["state"] == "done"
    print(
        f"dropped at {at:.0%} (then {left_at:.0%}), {channels} channels, done after "
        f"{time.monotonic() - started:.1f} s; wire {sent['bytesSent'] / RESUME_SIZE:.3f} x size"
    )


def test_resume_after_the_peer_connection_dies(server, browsers, tmp_path: Path) -> None:
    """At about half way the sender's whole RTCPeerConnection to the receiver is closed
    (every channel on it dies, the chat one too): the mesh builds a new connection and
    the transfer goes on over a new channel from the first unverified block."""
    _, (a, b) = room_of(server, browsers, ["alice", "bob"], init=FILE_CHANNELS_INIT)
    path = tmp_path / "reconnected.bin"
    sha, _ = random_file(path, RESUME_SIZE)

    (tid,) = offer_files_ui(a, [path], to_name="bob")
    accept_ui(b, tid)
    started = time.monotonic()
    at = wait_progress(b, tid, 0.5)
    assert a.evaluate(f"() => ({ROOM_PCS_JS})().length") == 1
    a.evaluate(f"() => {{ for (const {{pc}} of ({ROOM_PCS_JS})()) pc.close(); }}")

    view = receive_and_check(b, tid, path, sha, tmp_path, timeout=180)
    assert view["path"] == "direct", view
    channels = file_channels(b, tid)
    assert channels >= 2, f"no new channel after the connection died ({channels})"
    sent = transfer_stats(a, tid)
    assert RESUME_SIZE <= sent["bytesSent"] <= WIRE_LIMIT * RESUME_SIZE, sent
    assert wait_transfer(a, tid, "done", timeout=30)["state"] == "done"
    print(
        f"connection closed at {at:.0%}, done after {time.monotonic() - started:.1f} s; "
        f"wire {sent['bytesSent'] / RESUME_SIZE:.3f} x size"
    )


def test_resume_after_the_receiver_reloads(server, browsers, tmp_path: Path) -> None:
    """At about half way the receiver reloads its page: the verified blocks are in OPFS,
    the manifest in IndexedDB, and the transfer goes on from there."""
    _, (a, b) = room_of(server, browsers, ["alice", "bob"])
    path = tmp_path / "reloaded.bin"
    sha, _ = random_file(path, RESUME_SIZE)

    (tid,) = offer_files_ui(a, [path], to_name="bob")
    accept_ui(b, tid)
    started = time.monotonic()
    at = wait_progress(b, tid, 0.5)
    b.reload()
    room_ready(b)
    # Back from the manifest, with the verified blocks, before any new byte arrives.
    resumed_from = wait_js(
        b,
        f"(id) => {{ const t = {TRANSFERS}.get(id);"
        " return t && t.bytesDone > 0 && t.bytesDone / t.size; }",
        tid,
        what="the transfer back after the reload, with its verified blocks",
    )
    view = receive_and_check(b, tid, path, sha, tmp_path, timeout=180)
    assert view["path"] == "direct", view
    sent = transfer_stats(a, tid)
    # Progress is recorded at most once a second, so what arrived after the last
    # checkpoint is sent again (plus the window in flight at the reload), but no more.
    assert resumed_from > 0.25, resumed_from  # the checkpoint is recent, not the start
    resent = max(0.0, at - resumed_from) * RESUME_SIZE
    assert RESUME_SIZE <= sent["bytesSent"] <= RESUME_SIZE + resent + 8 * MIB, (sent, at)
    # After the reload the receiver fetched only what it did not have.
    got = transfer_stats(b, tid)
    assert got["bytesReceived"] <= (1 - resumed_from) * RESUME_SIZE + 8 * MIB, (got, resumed_from)
    assert wait_transfer(a, tid, "done", timeout=30)["state"] == "done"
    print(
        f"reloaded at {at:.0%}, resumed from {resumed_from:.0%}, done after "
        f"{time.monotonic() - started:.1f} s; wire {sent['bytesSent'] / RESUME_SIZE:.3f} x size"
    )


def test_through_the_server_when_peer_to_peer_is_impossible(
    server, browsers, tmp_path: Path
) -> None:
    room_id, (a, b) = room_of(server, browsers, ["alice", "bob"], p2p=False)
    path = tmp_path / "via-server.bin"
    sha, root = random_file(path, SMALL)

    started = time.monotonic()
    (tid,) = offer_files_ui(a, [path], to_name="bob")
    accept_ui(b, tid)
    row_b = transfer_row(b, tid)
    expect(row_b).to_have_attribute("data-path", "server", timeout=60_000)
    expect(row_b.get_by_test_id("transfer-path")).to_have_text("Via server")
    view = receive_and_check(b, tid, path, sha, tmp_path, timeout=180)
    assert view["path"] == "server", view
    sent, got = transfer_stats(a, tid), transfer_stats(b, tid)
    assert sent["path"] == "server", sent
    assert got["path"] == "server", got
    assert SMALL <= sent["bytesSent"] <= WIRE_LIMIT * SMALL, sent
    assert SMALL <= got["bytesReceived"] <= WIRE_LIMIT * SMALL, got
    assert wait_transfer(a, tid, "done", timeout=30)["state"] == "done"
    # The room is end-to-end encrypted: the server holds the sealed blocks (a 16-byte tag
    # per MiB), without the file's name, type or plaintext root (tests/e2e/test_e2e_files.py).
    files = room_files(a, room_id)
    sealed_size = SMALL + 16 * (SMALL // MIB)
    assert [(f["name"], f["size"]) for f in files] == [("file", sealed_size)], files
    assert files[0]["root"] != root
    assert files[0]["type"] == "application/octet-stream"
    for page in (a, b):
        assert page.evaluate("window.peerlane.room.directCount") == 0
    print(f"20 MiB through tus + Range: {time.monotonic() - started:.1f} s")


def test_a_late_receiver_without_a_direct_link_gets_the_file_through_the_server(
    server, browsers, tmp_path: Path
) -> None:
    """Issue #9, finding 11: a file to everyone; bob accepts and finishes over a direct
    channel; carol, whose browser can make no direct link at all, accepts after that.
    The sender must still start the server path for her (it did not: the offer was
    "done", no fallback was armed, and carol waited for ever)."""
    a, b = (browsers.new(n).page for n in ("alice", "bob"))
    c = browsers.new("carol", p2p=False).page
    room_id = create_room_ui(a, server.base, "alice")
    link = invite_link(a)
    assert join_by_link_ui(b, link, "bob") == room_id
    assert join_by_link_ui(c, link, "carol") == room_id
    for page in (a, b):
        expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=30_000)
    path = tmp_path / "late.bin"
    sha, _ = random_file(path, 4 * MIB)

    (tid,) = offer_files_ui(a, [path], to_name=None)
    accept_ui(b, tid)
    assert receive_and_check(b, tid, path, sha, tmp_path, timeout=60)["path"] == "direct"
    assert wait_transfer(a, tid, "done", timeout=30)["state"] == "done"
    assert room_files(a, room_id) == [], "bob's copy went directly"

    started = time.monotonic()
    accept_ui(c, tid)
    # p2p_timeout (10 s) for a link that never comes, then tus; carol downloads.
    expect(transfer_row(c, tid)).to_have_attribute("data-path", "server", timeout=60_000)
    view = receive_and_check(c, tid, path, sha, tmp_path, timeout=60)
    assert view["path"] == "server", view
    out = wait_transfer(a, tid, "done", timeout=30)
    assert sorted((r["name"], r["state"]) for r in out["receivers"]) == [
        ("bob", "done"),
        ("carol", "done"),
    ], out
    # One server copy, sealed: the server does not know its name.
    assert [(f["name"], f["size"]) for f in room_files(a, room_id)] == [("file", 4 * MIB + 64)]
    print(f"late receiver without a direct link: accept → done {time.monotonic() - started:.1f} s")


def test_a_hung_upload_shows_stalled_and_retry_finishes_it(
    server, browsers, tmp_path: Path
) -> None:
    """No direct link is possible and the sender's upload to the server hangs (its
    requests are held unanswered; tus has no deadline of its own). After the stall time
    (shortened to 4 s through localStorage) both rows say "stalled" and offer "Retry";
    once the server answers again, Retry on the sender's row starts the upload again
    and the receiver, stalled too, takes the server's copy as soon as it is there."""
    stall_ms = 4_000
    init = (
        f"try {{ localStorage.setItem('peerlaneStallMs', '{stall_ms}');"
        " localStorage.setItem('peerlaneP2pTimeoutMs', '1000'); } catch {}"
    )
    _, (a, b) = room_of(server, browsers, ["alice", "bob"], p2p=False, init=init)
    held: list[Any] = []
    hold = True

    def uploads(route: Any) -> None:
        if hold:
            held.append(route)  # never answered
        else:
            route.continue_()

    a.route("**/api/rooms/*/uploads**", uploads)
    path = tmp_path / "hung.bin"
    sha, _ = random_file(path, 3 * MIB)

    (tid,) = offer_files_ui(a, [path], to_name="bob")
    accept_ui(b, tid)
    row_a, row_b = transfer_row(a, tid), transfer_row(b, tid)
    for row in (row_a, row_b):
        expect(row).to_have_attribute("data-state", "stalled", timeout=30_000)
        expect(row.get_by_test_id("transfer-state")).to_have_text(
            f"No progress for {stall_ms // 1000} s"
        )
        expect(row.get_by_role("button", name="Retry")).to_be_visible()
    assert held, "the upload was held"

    hold = False
    started = time.monotonic()
    row_a.get_by_role("button", name="Retry").click()
    expect(row_a).not_to_have_attribute("data-state", "stalled")
    view = receive_and_check(b, tid, path, sha, tmp_path, timeout=60)
    assert view["path"] == "server", view
    assert wait_transfer(a, tid, "done", timeout=30)["state"] == "done"
    print(f"stalled upload: Retry → done {time.monotonic() - started:.1f} s")

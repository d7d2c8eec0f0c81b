"""A transfer through the room UI and the engine, timed in the receiving page, and the
two Chromiums (Alice's and Bob's profiles) the transfer benches run it in: used by
bench/transfer_browser.py (against a bare channel), _transfer_e2e.py (encrypted against
plain) and _cli_browser.py (against ``peerlane send`` / ``receive``); and the session the
first two run in (``bench_session``: payload, server, the two Chromiums).

Timed in the receiver's page from the click on Accept to ``done`` (every block verified,
the root checked); hashing before the offer is not counted. Then the receiver presses
"Save" and Python compares the download's SHA-256 with the file."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _browser_cpu import CpuMeter
from _page_profile import PROFILE_RECEIVER_JS, PROFILE_SENDER_JS, js_profile_start, js_profile_stop

T = "window.peerlane.room.transfers"

# Bob's page: when Accept is clicked, when the first block is verified, when it is done.
WATCH_JS = """
(id) => {
  const w = (window.__watch = {accept: 0, first: 0, end: 0, state: null});
  const now = () => performance.timeOrigin + performance.now();
  document.addEventListener('click', (e) => {
    const row = e.target.closest?.('[data-testid=transfer]');
    if (row?.dataset.transferId === id && e.target.closest('button')?.textContent === 'Accept') {
      w.accept = now();
    }
  }, {capture: true});
  const tick = () => {
    const t = window.peerlane.room.transfers.get(id);
    if (w.accept && !w.first && t && (t.bytesDone > 0 || t.state === 'done')) w.first = now();
    if (w.accept && t && ['done', 'failed', 'cancelled'].includes(t.state)) {
      w.end = now();
      w.state = t.state;
      return;
    }
    setTimeout(tick, 10);
  };
  tick();
}
"""


def accept_in_page(b: Any, tid: str, size: int, timeout: float, cpu: CpuMeter) -> dict[str, Any]:
    """Press Accept on the offer ``tid`` in ``b`` and wait for ``done``: the seconds from
    the click to done and to the first verified block, the path, the CPU of both
    browsers meanwhile, and the receiver's byte count (over ``size``)."""
    from playwright.sync_api import expect

    from e2e.helpers import transfer_row, transfer_stats, wait_js

    # Timed in the page: from the click on Accept (a capturing listener) to the first
    # verified block and to "done", watched every 10 ms.
    row = transfer_row(b, tid)
    expect(row).to_have_attribute("data-state", "offered", timeout=60_000)
    b.evaluate(WATCH_JS, tid)
    before = cpu.snapshot()  # CPU from the click to "done" (not the hashing, not Save)
    row.get_by_role("button", name="Accept").click()
    watch = wait_js(b, "() => window.__watch.end && window.__watch", timeout=timeout, what="done")
    used = cpu.since(before)
    view = b.evaluate(f"(id) => {T}.get(id)", tid)
    assert watch["accept"], watch
    assert view["state"] == "done", view
    return {
        "cpu": used,
        "seconds": (watch["end"] - watch["accept"]) / 1000,
        "first_block_s": round((watch["first"] - watch["accept"]) / 1000, 2),
        "path": view["path"],
        "received_ratio": transfer_stats(b, tid)["bytesReceived"] / size,
    }


def save_matches(b: Any, tid: str, sha: str, tmp: Path, timeout: float) -> bool:
    """Save the received file, compare its SHA-256 with ``sha``, then dismiss the row
    (which frees the OPFS copy for the next run)."""
    from e2e.helpers import save_received_ui, sha256_file

    saved = save_received_ui(b, tid, tmp / f"received-{tid}.bin", timeout=timeout)
    match = sha256_file(saved) == sha
    saved.unlink()
    b.evaluate(f"(id) => {T}.dismiss(id)", tid)
    return match


def peerlane_transfer(
    a: Any,
    b: Any,
    path: Path,
    sha: str,
    tmp: Path,
    timeout: float,
    cpu: CpuMeter,
    profile: bool = False,
) -> dict[str, Any]:
    """One transfer from ``a`` to bob's ``b`` through the room UI and engine."""
    from e2e.helpers import offer_files_ui, transfer_stats

    if profile:
        a.evaluate(PROFILE_SENDER_JS)
        b.evaluate(PROFILE_RECEIVER_JS)
    (tid,) = offer_files_ui(a, [path], to_name="bob", timeout=timeout)
    cdps = []
    if profile:  # count from the accept on (not the hashing before the offer)
        for page in (a, b):
            page.evaluate("window.__profReset()")
        cdps = [js_profile_start(a), js_profile_start(b)]
    size = path.stat().st_size
    out = accept_in_page(b, tid, size, timeout, cpu)
    out["wire_ratio"] = transfer_stats(a, tid)["bytesSent"] / size
    out["profile"] = {}
    if profile:
        out["profile"] = {
            "sender": a.evaluate("window.__prof"),
            "receiver": b.evaluate("window.__prof"),
            "sender_main_thread": js_profile_stop(cdps[0]),
            "receiver_main_thread": js_profile_stop(cdps[1]),
        }
    out["sha256_match"] = save_matches(b, tid, sha, tmp, timeout)
    return out


def browser_pair(pw: Any, tmp: Path) -> tuple[dict[str, Path], dict[str, Any], list[str]]:
    """Alice's and Bob's Chromiums, each with a persistent profile under ``tmp`` (a
    service worker and IndexedDB as a person's browser has them): the profiles (CpuMeter
    finds each browser's processes by them), the contexts, and the list their pages'
    uncaught errors go to."""
    from chromium_browsers import CHROMIUM, CHROMIUM_ARGS

    profiles = {name: tmp / f"profile-{name}" for name in ("alice", "bob")}
    contexts = {}
    for name, profile in profiles.items():
        ctx = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
        )
        ctx.set_default_timeout(30_000)
        contexts[name] = ctx
    errors: list[str] = []
    for name, ctx in contexts.items():
        ctx.on("weberror", lambda e, n=name: errors.append(f"[{n}] {e.error}"))
    return profiles, contexts, errors


def wait_direct(*pages: Any) -> None:
    """Until each room page shows its one peer on a direct path (the transfer's link)."""
    from playwright.sync_api import expect

    from e2e.helpers import PEER

    for page in pages:
        expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=30_000)


@dataclass
class BenchSession:
    tmp: Path
    path: Path  # the payload: ``size`` random bytes
    sha: str  # its SHA-256
    server: Any  # support.ServerProcess
    contexts: dict[str, Any]  # alice's and bob's (browser_pair)
    errors: list[str]  # their pages' uncaught errors
    cpu: CpuMeter  # both browsers' threads


@contextmanager
def bench_session(size: int) -> Iterator[BenchSession]:
    """A temporary directory with a random payload of ``size`` bytes, a ``peerlane serve``
    on loopback and Alice's and Bob's Chromiums (``browser_pair``); on the way out the
    browsers are closed, the server stopped and the directory removed."""
    from playwright.sync_api import sync_playwright

    from e2e.helpers import random_file
    from support import ServerProcess

    with tempfile.TemporaryDirectory(prefix="pl-bench-") as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "payload.bin"
        sha, _ = random_file(path, size)
        server = ServerProcess(
            tmp / "data", env={"PEERLANE_HOST": "127.0.0.1", "PEERLANE_LOG_LEVEL": "warning"}
        ).start()
        try:
            with sync_playwright() as pw:
                profiles, contexts, errors = browser_pair(pw, tmp)
                try:
                    yield BenchSession(tmp, path, sha, server, contexts, errors, CpuMeter(profiles))
                finally:
                    for ctx in contexts.values():
                        ctx.close()
        finally:
            server.stop()

"""Benchmark + check: one file between two real browsers through the transfer engine.

Starts ``python -m peerlane serve`` and two headless Chromium processes (alice, bob)
inside the private network namespace, puts both in one room (the UI's create/join
flow), lets alice send a file from disk (``--size``, random bytes) to bob with
``room.transfers.send`` and bob accept it, then checks that bob's verified file has the
root Python computes for the bytes on disk, and reports the time, MiB/s, the bytes put
on the wire (``transfers.stats()``) and bob's JS heap.

Modes:
  direct  the whole file over the data channel (default)
  drop    bob's channel is closed at ~40 %: the transfer must resume from the first
          unverified block (wire bytes <= 1.1 x size)
  reload  bob reloads at ~40 %: OPFS + manifest resume (accept {have})
  sender-reload  alice reloads at ~40 %: "needs-file" until she picks the file again
          (pickAgain; the wire ratio then counts what bob received)
  server  bob cannot do peer to peer: the tus upload + Range download fallback

    .venv/bin/python bench/transfer_p2p.py --size 100M    # re-runs itself in scripts/netns-run
    .venv/bin/python bench/transfer_p2p.py --mode drop --size 50M
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from _browsers import MIB, in_namespace, parse_size  # noqa: E402
from _stats import cpu_seconds_matching  # noqa: E402
from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, NO_P2P_PREFS  # noqa: E402

ARGS = [*CHROMIUM_ARGS, "--enable-precise-memory-info"]

T = "window.peerlane.room.transfers"


def wait(page, predicate: str, arg=None, timeout: float = 60, what: str = ""):
    from helpers import wait_js

    return wait_js(page, predicate, arg, timeout=timeout, what=what)


def launch(pw, root: Path, name: str, p2p: bool):
    profile = root / f"profile-{name}"
    if not p2p:
        (profile / "Default").mkdir(parents=True)
        (profile / "Default" / "Preferences").write_text(json.dumps(NO_P2P_PREFS))
    context = pw.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=ARGS
    )
    context.set_default_timeout(30_000)
    page = context.pages[0] if context.pages else context.new_page()
    page.on("pageerror", lambda e: print(f"[{name}] page error: {e}", file=sys.stderr))
    page.on("console", lambda m: m.type == "error" and print(f"[{name}] {m.text}", file=sys.stderr))
    return context, page


def pick_file(page, path: Path) -> None:
    """A disk-backed File in the page, as an <input type=file> gives it."""
    page.evaluate(
        """() => { const i = document.createElement('input'); i.type = 'file';
                   i.id = 'bench-file'; i.hidden = true; document.body.append(i); }"""
    )
    page.set_input_files("#bench-file", str(path))


def run(opts: argparse.Namespace) -> dict:
    from helpers import create_room_ui, invite_link, join_by_link_ui, random_file
    from playwright.sync_api import sync_playwright

    from support import ServerProcess

    size = opts.size
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "payload.bin"
        _, expected = random_file(path, size)
        server = ServerProcess(
            root / "data", env={"PEERLANE_HOST": "127.0.0.1", "PEERLANE_LOG_LEVEL": "warning"}
        ).start()
        try:
            with sync_playwright() as pw:
                ca, a = launch(pw, root, "alice", True)
                cb, b = launch(pw, root, "bob", opts.mode != "server")
                create_room_ui(a, server.base, "alice")
                join_by_link_ui(b, invite_link(a), "bob")
                for page in (a, b):
                    page.evaluate(
                        "(ms) => localStorage.setItem('peerlaneP2pTimeoutMs', String(ms))",
                        opts.p2p_timeout_ms,
                    )
                if opts.mode != "server":
                    for page in (a, b):
                        wait(
                            page, "() => window.peerlane.room.directCount >= 1", what="direct link"
                        )
                bob_id = b.evaluate("() => window.peerlane.room.me.participant_id")
                pick_file(a, path)
                start = time.monotonic()
                tid = a.evaluate(
                    f"(to) => {T}.send([document.getElementById('bench-file').files[0]], to)[0]",
                    bob_id,
                )
                wait(b, f"(id) => {T}.get(id)?.state === 'offered'", tid, what="offer at bob")
                offered = time.monotonic()
                cpu_before = cpu_seconds_matching(str(root / "profile-"))
                b.evaluate(f"(id) => {T}.accept(id)", tid)
                heap = 0
                interrupted = False
                deadline = time.monotonic() + opts.timeout
                while True:
                    view = b.evaluate(f"(id) => {T}.get(id)", tid)
                    heap = max(heap, b.evaluate("() => performance.memory?.usedJSHeapSize ?? 0"))
                    if view["state"] in ("done", "failed", "cancelled"):
                        break
                    if (
                        not interrupted
                        and view["bytesDone"] >= 0.4 * size
                        and opts.mode in ("drop", "reload", "sender-reload")
                    ):
                        interrupted = True
                        if opts.mode == "sender-reload":
                            a.reload()
                            wait(a, f"(id) => {T}?.get(id)?.state === 'needs-file'", tid)
                            pick_file(a, path)
                            a.evaluate(
                                f"(id) => {T}.pickAgain(id, "
                                "document.getElementById('bench-file').files[0])",
                                tid,
                            )
                        elif opts.mode == "drop":
                            b.evaluate(f"(id) => {T}._live.get(id).channel?.close()", tid)
                        else:
                            b.reload()
                            wait(
                                b,
                                "(id) => window.peerlane?.room?.transfers?.get(id)",
                                tid,
                                what="bob back",
                            )
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"transfer not done: {view}")
                    time.sleep(0.2)
                done = time.monotonic()
                cpu_used = cpu_seconds_matching(str(root / "profile-")) - cpu_before
                sender_state = wait(
                    a,
                    f"(id) => {T}.get(id)?.state === 'done' && {T}.get(id)",
                    tid,
                    timeout=30,
                    what="sender done",
                )
                got = b.evaluate(
                    """async (id) => {
                      const { hashFile } = await import('/static/integrity.js');
                      const file = await window.peerlane.room.transfers.getFile(id);
                      return file && { size: file.size, root: (await hashFile(file)).root };
                    }""",
                    tid,
                )
                stats_a = a.evaluate(f"(id) => {T}.stats()[id]", tid)
                stats_b = b.evaluate(f"(id) => {T}.stats()[id]", tid)
                ca.close()
                cb.close()
        finally:
            server.stop()
    seconds = done - offered
    return {
        "mode": opts.mode,
        "size_mib": size / MIB,
        "state": view["state"],
        "error": view["error"],
        "path": view["path"],
        "sender_state": sender_state["state"],
        "seconds_after_accept": round(seconds, 2),
        "seconds_total": round(done - start, 2),
        "mib_per_s": round(size / MIB / seconds, 1),
        "root_match": bool(got) and got["root"] == expected and got["size"] == size,
        "sender_wire_bytes": stats_a["bytesSent"],
        "sender_wire_ratio": round(stats_a["bytesSent"] / size, 3) if size else 0,
        "receiver_wire_ratio": round(stats_b["bytesReceived"] / size, 3) if size else 0,
        "receiver_wire_bytes": stats_b["bytesReceived"],
        "receiver_peak_heap_mib": round(heap / MIB, 1),
        "browsers_cpu_ms_per_mib": round(cpu_used * 1000 / (size / MIB), 1) if size else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=parse_size, default=parse_size("100M"))
    parser.add_argument(
        "--mode", choices=["direct", "drop", "reload", "sender-reload", "server"], default="direct"
    )
    parser.add_argument("--p2p-timeout-ms", type=int, default=3000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--quick", action="store_true", help="smoke run: 16 MiB")
    opts = parser.parse_args()
    in_namespace(__file__)
    if opts.quick:
        opts.size = 16 * MIB
    result = run(opts)
    print(json.dumps(result, indent=2))
    ok = result["state"] == "done" and result["root_match"]
    if opts.mode in ("drop", "reload", "direct"):
        ok = ok and result["sender_wire_ratio"] <= 1.1
    if opts.mode == "sender-reload":
        ok = ok and result["receiver_wire_ratio"] <= 1.1
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

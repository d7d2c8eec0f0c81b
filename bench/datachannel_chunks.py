"""Benchmark: RTCDataChannel throughput by frame size and buffering watermarks.

Two headless Chromium processes (separate profiles, like two people) connect one
RTCPeerConnection over the private test network namespace (host candidates on
10.77.0.1); the SDP is carried by Playwright (no server). For each frame size and
high/low watermark pair a fresh ordered, reliable channel carries ``--size`` bytes in
binary frames built the way ``src/peerlane/web/transfer-wire.js`` builds them (a new
ArrayBuffer with an 8-byte header per frame), sending while ``bufferedAmount`` is under
the high mark and waiting for ``bufferedamountlow`` (threshold = the low mark)
otherwise. The receiver copies each payload into a 1 MiB block buffer, as the engine
does. Throughput = bytes / (last byte received - first send), median of ``--repeat``.

On a shared machine wall-clock throughput mostly measures the neighbours, so the bench
also reports the CPU time both browsers spent per MiB (utime + stime of every Chromium
process of the two profiles, from /proc): the cheaper configuration is the one that goes
fastest once the CPU is the limit. Repeats are interleaved across configurations so
that a burst of outside load does not hit one configuration only.

    .venv/bin/python bench/datachannel_chunks.py       # re-runs itself in scripts/netns-run
    .venv/bin/python bench/datachannel_chunks.py --size 50M --repeat 1
    .venv/bin/python bench/datachannel_chunks.py --quick

Prints a Markdown table (the one in docs/protocol.md → "Browser file transfer").
"""

from __future__ import annotations

import argparse
import http.server
import os
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests")]
from _browsers import KIB, MIB, in_namespace, parse_size  # noqa: E402
from _stats import cpu_seconds_matching  # noqa: E402
from e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<script>
window.pc = null;
window.received = {};
async function gathered(pc) {
  if (pc.iceGatheringState === "complete") return;
  await new Promise((r) => pc.addEventListener("icegatheringstatechange",
    () => pc.iceGatheringState === "complete" && r()));
}
window.offer = async () => {
  pc = new RTCPeerConnection();
  pc.createDataChannel("warmup");
  await pc.setLocalDescription();
  await gathered(pc);
  return pc.localDescription.toJSON();
};
window.answer = async (offer) => {
  pc = new RTCPeerConnection();
  pc.ondatachannel = (ev) => receive(ev.channel);
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription();
  await gathered(pc);
  return pc.localDescription.toJSON();
};
window.finish = async (answer) => { await pc.setRemoteDescription(answer); };
function receive(ch) {
  ch.binaryType = "arraybuffer";
  const rec = window.received[ch.label] = {bytes: 0, last: 0, open: false};
  const block = new Uint8Array(1024 * 1024);
  let fill = 0;
  ch.onopen = () => { rec.open = true; };
  if (ch.readyState === "open") rec.open = true;
  ch.onmessage = (ev) => {
    const payload = new Uint8Array(ev.data, 8);
    const room = block.length - fill;
    if (payload.length >= room) { block.set(payload.subarray(0, room), fill); fill = 0; }
    else { block.set(payload, fill); fill += payload.length; }
    rec.bytes += payload.length;
    rec.last = Date.now();
  };
}
window.openChannel = async (label) => {
  const ch = pc.createDataChannel(label, {ordered: true});
  ch.binaryType = "arraybuffer";
  await new Promise((r) => ch.addEventListener("open", r, {once: true}));
  window[label] = ch;
  return pc.sctp ? pc.sctp.maxMessageSize : null;
};
window.blast = async ({label, total, frame, high, low}) => {
  const ch = window[label];
  ch.bufferedAmountLowThreshold = low;
  const payload = new Uint8Array(frame - 8).fill(7);
  const start = Date.now();
  let sent = 0, block = 0;
  while (sent < total) {
    if (ch.bufferedAmount > high) {
      await new Promise((r) => ch.addEventListener("bufferedamountlow", r, {once: true}));
    }
    const n = Math.min(payload.length, total - sent);
    const buf = new ArrayBuffer(8 + n);
    const view = new DataView(buf);
    view.setUint32(0, block++); view.setUint32(4, 0);
    new Uint8Array(buf, 8).set(payload.subarray(0, n));
    ch.send(buf);
    sent += n;
  }
  return start;
};
</script>"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = lambda *a, **k: Quiet(*a, directory=str(directory), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/bench.html"


def run(size: int, repeat: int, frames: list[int], highs: list[int]) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bench.html").write_text(PAGE)
        httpd, url = serve(root)
        with sync_playwright() as pw:
            contexts = [
                pw.chromium.launch_persistent_context(
                    str(root / f"profile-{i}"),
                    executable_path=CHROMIUM,
                    headless=True,
                    args=CHROMIUM_ARGS,
                )
                for i in range(2)
            ]
            a, b = (c.pages[0] if c.pages else c.new_page() for c in contexts)
            for page in (a, b):
                page.goto(url)
            a.evaluate("window.finish", b.evaluate("window.answer", a.evaluate("window.offer")))
            configs = [(frame, high) for frame in frames for high in highs]
            speeds: dict[tuple[int, int], list[float]] = {c: [] for c in configs}
            cpu: dict[tuple[int, int], list[float]] = {c: [] for c in configs}
            n = 0
            for _ in range(repeat):
                for frame, high in configs:
                    n += 1
                    label = f"run{n}"
                    max_message = a.evaluate("window.openChannel", label)
                    if max_message and frame > max_message:
                        raise SystemExit(f"frame {frame} > maxMessageSize {max_message}")
                    b.wait_for_function(f"window.received['{label}']?.open === true")
                    args = {
                        "label": label,
                        "total": size,
                        "frame": frame,
                        "high": high,
                        "low": high // 4,
                    }
                    cpu_before = cpu_seconds_matching(tmp)
                    start = a.evaluate("window.blast", args)
                    b.wait_for_function(
                        f"window.received['{label}'].bytes >= {size}", timeout=120_000, polling=50
                    )
                    cpu_after = cpu_seconds_matching(tmp)
                    last = b.evaluate(f"window.received['{label}'].last")
                    speeds[(frame, high)].append(size / MIB / max((last - start) / 1000, 1e-3))
                    cpu[(frame, high)].append((cpu_after - cpu_before) * 1000 / (size / MIB))
                    print(
                        f"frame {frame // KIB:>4} KiB  high {high / MIB:>5.2f} MiB  "
                        f"{speeds[(frame, high)][-1]:7.1f} MiB/s  "
                        f"{cpu[(frame, high)][-1]:6.1f} CPU ms/MiB",
                        file=sys.stderr,
                    )
            rows = [
                {
                    "frame": frame,
                    "high": high,
                    "low": high // 4,
                    "mibps": statistics.median(speeds[(frame, high)]),
                    "cpu_ms_per_mib": statistics.median(cpu[(frame, high)]),
                }
                for frame, high in configs
            ]
            for c in contexts:
                c.close()
        httpd.shutdown()
    return rows


def table(rows: list[dict[str, Any]], size: int, repeat: int) -> str:
    fastest = max(rows, key=lambda r: r["mibps"])
    cheapest = min(rows, key=lambda r: r["cpu_ms_per_mib"])
    lines = [
        f"{size // MIB} MiB per run, median of {repeat} (interleaved); low mark = high / 4; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| frame | high mark | low mark | MiB/s | CPU ms per MiB (both browsers) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        fast = " **(fastest)**" if r is fastest else ""
        cheap = " **(cheapest)**" if r is cheapest else ""
        lines.append(
            f"| {r['frame'] // KIB} KiB | {r['high'] / MIB:g} MiB | {r['low'] / MIB:g} MiB | "
            f"{r['mibps']:.1f}{fast} | {r['cpu_ms_per_mib']:.1f}{cheap} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=parse_size, default=parse_size("100M"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--frames", default="16K,64K,128K,256K", help="frame sizes (header included)"
    )
    parser.add_argument(
        "--highs",
        default="256K,1M,4M,8M",
        help="high watermarks (Chromium refuses to queue 16 MiB)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 16 MiB, 64 KiB frames, 1 MiB mark, once"
    )
    opts = parser.parse_args()
    in_namespace(__file__)
    if opts.quick:
        opts.size, opts.repeat, opts.frames, opts.highs = 16 * MIB, 1, "64K", "1M"
    frames = [parse_size(f) for f in opts.frames.split(",")]
    highs = [parse_size(h) for h in opts.highs.split(",")]
    print(table(run(opts.size, opts.repeat, frames, highs), opts.size, opts.repeat))


if __name__ == "__main__":
    main()

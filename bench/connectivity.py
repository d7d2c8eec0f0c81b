"""Connectivity benchmark (issue #11): the netlab scenarios, measured; the table goes to
docs/connectivity.md ("Benchmark" section, between its markers).

Needs root (the lab's network namespaces); without it, one line says why and it exits 0.
Per scenario of tests/netlab/test_scenarios.py (a fresh lab: namespaces, coturn and a
peerlane server in the "public" one, a headless Chromium per peer namespace, the fixture
code of tests/netlab/conftest.py run as context managers):

- **connect**: alice creates a room, bob joins by the link; then bob reloads the room
  page ``--repeat`` more times. A sample is the time from bob's navigation (join or
  reload) until both panels show the expected kind of path (direct / turn / server).
  The table gives the median (p50).
- **path taken**: both browsers' selected candidate pair (getStats), named as the
  scenario test names it (host / srflx / turn-udp / turn-tcp; "server" without a pair).
- **transfer**: a ``--file-mib`` file from alice to bob through the room's file
  transfer (data channel, or the server for scenario 6): MB/s from bob's Accept to done.

Then **all candidates at once vs rungs**, with two bare RTCPeerConnections (no peerlane
code; candidates trickled through this script) in scenarios 4 (symmetric NAT → TURN
UDP), 5 (UDP blocked → TURN TCP) and 5-tls-only (only TLS gets out → TURN TLS): "at
once" offers STUN and TURN over UDP, TCP and TLS in one configuration; "rungs" offers
STUN only, then TURN UDP, then TURN TCP, then TURN TLS (each relay-only), each rung given
``--rung-timeout`` s before the next. Time: the offer to the open channel.

Targets (docs/connectivity.md): every scenario on its expected path; connect time over
TURN at most 2x the direct one (scenario 2) in the same run.

    sudo .venv/bin/python bench/connectivity.py            # write the table
    sudo .venv/bin/python bench/connectivity.py --quick    # 1 sample, small file, no write
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "src")]

import _rtc_timeline  # noqa: E402
from e2e.helpers import (  # noqa: E402
    MIB,
    PEER,
    accept_ui,
    create_room_ui,
    invite_link,
    join_by_link_ui,
    offer_files_ui,
    random_file,
    wait_js,
    wait_transfer,
)
from netlab import conftest as lab_fixtures  # noqa: E402
from netlab.lab import Lab, can_build_namespaces  # noqa: E402
from netlab.test_scenarios import (  # noqa: E402
    CONNECT_TIMEOUT,
    ROOM_PATH_JS,
    SCENARIOS,
    Scenario,
    path_of,
    peer_namespaces,
)

DOC = REPO / "docs" / "connectivity.md"
BEGIN, END = "<!-- bench:connectivity:begin -->", "<!-- bench:connectivity:end -->"


def fixture(name: str) -> Any:
    """A fixture of tests/netlab/conftest.py as a plain context manager."""
    return contextlib.contextmanager(getattr(lab_fixtures, name).__wrapped__)


@dataclass
class Row:
    scenario: str
    expected: str
    taken: str = "?"
    connect_s: list[float] = field(default_factory=list)
    mb_s: float | None = None


@contextlib.contextmanager
def lab_world(tmp: Path) -> Iterator[tuple[Lab, Any, Any, Any]]:
    """A lab with coturn and the peerlane server running, and a browser launcher."""
    with (
        fixture("lab")() as lab,
        fixture("coturn")(lab, tmp) as turn,
        fixture("lab_server")(lab, turn, tmp) as server,
        fixture("playwright")() as pw,
    ):
        (tmp / "browsers").mkdir()
        browsers = lab_fixtures.LabBrowsers(pw, tmp / "browsers")
        try:
            yield lab, turn, server, browsers
        finally:
            browsers.close()


def ui_path(expected: str) -> str:
    return "server" if expected == "server" else "turn" if expected.startswith("turn") else "direct"


def wait_path(page: Any, expected: str) -> None:
    wait_js(
        page,
        f"() => document.querySelectorAll('{PEER}[data-path={ui_path(expected)}]').length === 1",
        timeout=CONNECT_TIMEOUT + 20,
        what=f"the panel showing {ui_path(expected)}",
    )


def measure_scenario(s: Scenario, repeat: int, file_mib: int, timeline: bool = False) -> Row:
    row = Row(s.name, s.expected)
    with tempfile.TemporaryDirectory(prefix="pl-bench-conn-") as tmp_name:
        tmp = Path(tmp_name)
        with lab_world(tmp) as (lab, _turn, server, browsers):
            ns_a, ns_b = peer_namespaces(lab, s)
            a = browsers.new(ns_a, server.base)
            b = browsers.new(ns_b, server.base)
            if timeline:
                for page in (a, b):
                    _rtc_timeline.install(page)
            create_room_ui(a, server.base, "alice")
            link = invite_link(a)
            started = time.monotonic()
            join_by_link_ui(b, link, "bob")
            for page in (a, b):
                wait_path(page, s.expected)
            row.connect_s.append(time.monotonic() - started)
            for _ in range(repeat - 1):
                if timeline:
                    _rtc_timeline.take(a)  # alice's events so far are not this sample's
                a_origin = a.evaluate("() => performance.now()")
                started = time.monotonic()
                b.reload()
                for page in (a, b):
                    wait_path(page, s.expected)
                row.connect_s.append(time.monotonic() - started)
                if timeline:  # bob's clock starts at its reload, alice's when it was asked
                    sides = {"alice": _rtc_timeline.take(a), "bob": _rtc_timeline.take(b)}
                    print(f"{s.name} reload, {row.connect_s[-1]:.2f} s:", flush=True)
                    print(_rtc_timeline.render(sides, {"alice": a_origin}), flush=True)
            if s.expected == "server":
                row.taken = "server"
            else:
                found = [wait_js(p, ROOM_PATH_JS, timeout=CONNECT_TIMEOUT) for p in (a, b)]
                names = sorted({path_of(f) for f in found})
                # The side without the relay candidate only knows "turn": name the precise one.
                precise = [n for n in names if n != "turn"] or names
                row.taken = "/".join(precise)
            sent = tmp / "bench.bin"
            random_file(sent, file_mib * MIB)
            (tid,) = offer_files_ui(a, [sent], to_name="bob")
            begun = time.monotonic()
            accept_ui(b, tid, timeout=30)
            wait_transfer(b, tid, "done", timeout=300)
            row.mb_s = file_mib * MIB / 1e6 / (time.monotonic() - begun)
    return row


# Two bare peer connections; candidates go through this script (trickle), so a server
# that never answers does not hold the offer back.
BARE_START_JS = """
async ({config, offerer}) => {
  const pc = new RTCPeerConnection(config);
  window.__pc = pc;
  window.__out = [];
  window.__open = null;
  pc.onicecandidate = (e) => { if (e.candidate) window.__out.push(e.candidate.toJSON()); };
  if (offerer) {
    const ch = pc.createDataChannel('bench');
    ch.onopen = () => { window.__open = performance.now(); };
    await pc.setLocalDescription(await pc.createOffer());
    window.__t0 = performance.now();
    return JSON.stringify(pc.localDescription);
  }
  pc.ondatachannel = (e) => { window.__open = performance.now(); };
  return null;
}
"""
BARE_ANSWER_JS = """
async (offer) => {
  await window.__pc.setRemoteDescription(JSON.parse(offer));
  await window.__pc.setLocalDescription(await window.__pc.createAnswer());
  return JSON.stringify(window.__pc.localDescription);
}
"""
TAKE_CANDIDATES_JS = "() => window.__out.splice(0)"
ADD_CANDIDATES_JS = (
    "async (list) => { for (const c of list) await window.__pc.addIceCandidate(c); }"
)


def bare_connect(a: Any, b: Any, config: dict[str, Any], timeout: float) -> float | None:
    """Seconds from the offer to the open channel with ``config``, or None in ``timeout``."""
    offer = a.evaluate(BARE_START_JS, {"config": config, "offerer": True})
    b.evaluate(BARE_START_JS, {"config": config, "offerer": False})
    answer = b.evaluate(BARE_ANSWER_JS, offer)
    a.evaluate("async (d) => window.__pc.setRemoteDescription(JSON.parse(d))", answer)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for src, dst in ((a, b), (b, a)):
            moved = src.evaluate(TAKE_CANDIDATES_JS)
            if moved:
                dst.evaluate(ADD_CANDIDATES_JS, moved)
        opened = a.evaluate("() => window.__open === null ? null : window.__open - window.__t0")
        if opened is not None:
            break
        time.sleep(0.02)  # the relay loop's pace: candidates are polled, not pushed
    else:
        opened = None
    for page in (a, b):
        page.evaluate("() => window.__pc.close()")
    return None if opened is None else opened / 1000


def rung_configs(turn: Any) -> list[dict[str, Any]]:
    full = lab_fixtures.ice_config(turn)
    stun, relay = full["iceServers"]
    udp, tcp, tls = relay["urls"]
    creds = {"username": relay["username"], "credential": relay["credential"]}
    return [
        {"iceServers": [stun]},
        {"iceServers": [{"urls": [udp], **creds}], "iceTransportPolicy": "relay"},
        {"iceServers": [{"urls": [tcp], **creds}], "iceTransportPolicy": "relay"},
        {"iceServers": [{"urls": [tls], **creds}], "iceTransportPolicy": "relay"},
    ]


def at_once_vs_rungs(s: Scenario, rung_timeout: float, repeat: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"at once": [], "rungs": []}
    with (
        tempfile.TemporaryDirectory(prefix="pl-bench-rungs-") as tmp_name,
        lab_world(Path(tmp_name)) as (lab, turn, server, browsers),
    ):
        ns_a, ns_b = peer_namespaces(lab, s)
        a = browsers.new(ns_a, server.base)
        b = browsers.new(ns_b, server.base)
        for page in (a, b):
            page.goto(server.base + "/healthz")
        for _ in range(repeat):
            once = bare_connect(a, b, lab_fixtures.ice_config(turn), CONNECT_TIMEOUT)
            times["at once"].append(float("nan") if once is None else once)
            spent = 0.0
            for config in rung_configs(turn):
                took = bare_connect(a, b, config, rung_timeout)
                if took is not None:
                    spent += took
                    break
                spent += rung_timeout
            else:
                spent = float("nan")
            times["rungs"].append(spent)
    return {k: statistics.median(v) for k, v in times.items()}


def table(rows: list[Row], rungs: dict[str, dict[str, Any]], when: str, load: float) -> str:
    lines = [
        f"Run {when} (`sudo .venv/bin/python bench/connectivity.py`), "
        f"p50 of {len(rows[0].connect_s)} connects per scenario; load average "
        f"{load:.1f} on {os.cpu_count()} cores at the start.",
        "",
        "| scenario | expected path | path taken | connect time p50 | max | transfer |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        p50 = statistics.median(r.connect_s)
        rate = f"{r.mb_s:.1f} MB/s" if r.mb_s is not None else "—"
        lines.append(
            f"| {r.scenario} | {r.expected} | {r.taken} | {p50:.2f} s "
            f"| {max(r.connect_s):.2f} s | {rate} |"
        )
    best = sum(
        r.taken == r.expected or (r.expected.startswith("turn") and r.taken == "turn") for r in rows
    )
    by_name = {r.scenario: statistics.median(r.connect_s) for r in rows}
    direct = by_name.get("2-eim-nat")
    turns = [v for k, v in by_name.items() if k.startswith(("4-", "5-"))]
    lines += ["", f"- On the best path: {best} of {len(rows)} scenarios (target: all)."]
    if direct and turns:
        ratio = max(turns) / direct
        met = "met" if ratio <= 2 else "NOT met"
        lines.append(
            f"- Connect time over TURN / direct (scenario 2): {ratio:.2f}x at worst "
            f"(target ≤ 2x: {met})."
        )
    lines += [
        "",
        "All candidates at once vs rungs (bare RTCPeerConnections, offer → open channel, p50):",
        "",
        "| scenario | at once | rungs (STUN → TURN UDP → TURN TCP → TURN TLS) |",
        "|---|---|---|",
    ]
    for name, t in rungs.items():
        lines.append(f"| {name} | {t['at once']:.2f} s | {t['rungs']:.2f} s |")
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = DOC.read_text()
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc:
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, doc, flags=re.S)
    else:
        doc = doc.rstrip() + "\n\n## Benchmark\n\n" + block + "\n"
    DOC.write_text(doc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="connects per scenario")
    parser.add_argument("--file-mib", type=int, default=8)
    parser.add_argument("--rung-timeout", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="1 sample, 2 MiB, no doc")
    parser.add_argument(
        "--only", help="scenario names containing one of these (comma-separated: 1-,2-,4-)"
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="print both pages' WebRTC/signaling events for each reload (bench/_rtc_timeline.py)",
    )
    args = parser.parse_args()
    why = can_build_namespaces()
    if why is not None:
        print(f"connectivity bench: SKIPPED, it {why}")
        return 0
    repeat, file_mib = (1, 2) if args.quick else (args.repeat, args.file_mib)
    wanted = [part for part in (args.only or "").split(",") if part]
    chosen = [s for s in SCENARIOS if not wanted or any(w in s.name for w in wanted)]
    load = os.getloadavg()[0]
    rows = []
    for s in chosen:
        row = measure_scenario(s, repeat, file_mib, args.timeline)
        print(f"{row.scenario}: {row.taken}, connect {row.connect_s}, {row.mb_s} MB/s", flush=True)
        rows.append(row)
    rungs = {}
    for s in chosen:
        if s.name.startswith(("4-", "5-")):
            rungs[s.name] = at_once_vs_rungs(s, args.rung_timeout, repeat)
            print(f"{s.name}: {rungs[s.name]}", flush=True)
    text = table(rows, rungs, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), load)
    print(text)
    if not args.quick and not args.only:
        write_doc(text)
        print(f"written to {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

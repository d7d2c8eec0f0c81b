"""Connect-time benchmark: invite link in a second browser -> open data channel.

A real ``python -m peerlane serve`` on 127.0.0.1 and two headless Debian Chromiums
(the flags of tests/e2e/conftest.py), all inside the private network namespace made by
``scripts/netns-run`` (the script refuses to run anywhere else: WebRTC must never reach
beyond this machine). Browser A (a persistent profile) creates a room through the UI and
stays on the room page. Then, per run, browser B -- a fresh profile, so no session
cookie, no IndexedDB and no HTTP cache -- has its display name pre-set in localStorage
(someone who has used peerlane in this browser before), opens the invite link, which
then joins at once (src/peerlane/web/ui/join-now.js), and the clock stops when B's
``window.peerlane.room`` reports an open direct data channel to A (its "peers" event
after the mesh's channel "open": ``directCount >= 1`` and that peer's ``path ==
"direct"``). B is then closed and A must see it leave before the next run.

Time is measured inside B's page: ``performance.now()`` counts from the navigation
start of the invite link (``performance.timeOrigin``), so Playwright's own overhead
(driver round trips, polling) is not in it. The same page instrumentation (an init
script: resource timing, wrapped fetch, WebSocket and RTCPeerConnection, a hook on
``window.peerlane``) gives the breakdown: page loaded (the join request sent) -> ``POST
/api/join`` answered -> the room's WebSocket created -> its welcome -> offer/answer
exchanged -> ICE + DTLS + SCTP -> channel open.

A revision from before the join at once (``--compare-with``) shows a "Join room"
button instead: the page load then ends when it is rendered, and the bench clicks it
-- a mouse click (CDP input events) at the button's place as soon as an in-page promise
reports it rendered, not a Playwright locator, whose injected selector engine would
compile in the page while it loads. The time the click takes (button rendered -> click
event) is reported apart (``click``, 0 without one), and ``app`` is the total without
it. ``wall`` is the same interval seen from Python (``page.goto`` -> the in-page wait
returns), Playwright included.

The machine is shared, so each run also records the CPU time spent between
``page.goto`` and the open channel by browser B (by process kind), browser A, the server
and the Playwright driver (``/proc/<pid>/stat`` of this script's descendants), and how
busy all CPUs were (``/proc/stat``); the load average is printed with the results.

Browser B, two modes (``--browser``):
  process  a new Chromium process with a new persistent profile per run (default: a
           browser started just for the link; startup is before the clock)
  context  one Chromium process for every run, a new browser context per run (a
           browser already running; per-context cookies, storage and cache)
Before opening the link, B's window must be idle: every B process together used at most
one clock tick (10 ms) in 150 ms (``settle_ms`` is how long that took; 10 s at most). A
new Chromium window is busy for about a second -- Chromium builds its own WebUI omnibox
popup in a renderer of its own (0.3-0.9 s of CPU) and the browser process sets the
window up -- and on two cores that work would compete with the page for the whole
measured interval. A person opens an invite link in a browser that is already up.
``--no-settle`` opens the link as soon as the window exists (the earlier method).
``--driver cdp`` drives B without Playwright: only the DevTools commands the benchmark
needs (attach, Page.enable, the instrumentation for new documents, navigate, evaluate),
over ``--remote-debugging-pipe`` (bench/_cdp.py). Playwright enables its own domains on
every page and answers their events, about 85 ms of B's browser-process CPU and 25 ms of
its renderer's per page load here; a person's browser has no automation attached. It
needs the join at once (it does not click) and process mode.
``--no-omnibox-popup`` adds WebUIOmniboxPopup to the flags' --disable-features: Chromium
156 otherwise builds its WebUI omnibox popup in a renderer of its own for every new
window, which in ``context`` mode lands inside the measured interval (~0.4 s of CPU).

``--returning`` measures a returning visitor, whose app shell the service worker keeps
(a visit to the home page with the same profile before the clock), against a first
visit, interleaved, each with its own server, A and room (bench/_returning.py). Target:
the returning visit's p50 at least 30 % faster.

``--compare-with REV`` measures the working tree ("current") against a git revision side
by side, as the machine's load swings too much for separate runs to be compared. REV is
checked out with ``git worktree add --detach`` into the temporary directory (removed at
the end, also on failure or at the time limit), and a second server runs from it: the same
environment plus ``PYTHONPATH=<worktree>/src``, so it uses REV's server code and web
client. Before the runs, each server's ``/static/app.js`` (and a web file that differs
between the trees, if any) is compared with the files of its own tree, and each server's
environment is checked to import peerlane from its tree. Each variant has its own browser
A and room; the runs alternate in ABBA order (pair k: current then REV for even k, REV
then current for odd k), with ``--warmup`` warm-up runs and ``--runs`` measured runs per
variant. The output adds a comparison of the p50s and the median of the paired
differences of the totals (run k of current minus run k of REV).

Every wait has a deadline and the whole run has a time limit (``--time-limit``). Output:
a table per run, a summary (p50/p95 by nearest rank, min, max) and, as the last line,
one JSON object.

    scripts/netns-run .venv/bin/python bench/connect_time.py             # 20 runs (+2 warm-up)
    scripts/netns-run .venv/bin/python bench/connect_time.py --quick     # 5 runs
    scripts/netns-run .venv/bin/python bench/connect_time.py --browser context --runs 40
    scripts/netns-run .venv/bin/python bench/connect_time.py --compare-with HEAD~1
    scripts/netns-run .venv/bin/python bench/connect_time.py --driver cdp  # B without Playwright
    scripts/netns-run .venv/bin/python bench/connect_time.py --returning  # app shell kept
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from helpers import create_room_ui, invite_link, wait_js  # type: ignore[import-not-found, unused-ignore]  # noqa: E402

from _cdp import CdpError, PipeBrowser  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
from _returning import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    prime_profile,
    returning_line,
    returning_report,
)
from _stats import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    ProcessTable,
    descendants,
    interleave,
    loadavg,
    machine_jiffies,
    percentile,
    process_table,
)
from _variants import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    Variant,
    add_worktree,
    current_variant,
    git,
    remove_worktree,
)
from support import ServerProcess  # type: ignore[import-not-found, unused-ignore]  # noqa: E402


def _e2e_conftest() -> Any:
    """tests/e2e/conftest.py (the Chromium path and flags the browser suite uses); loaded
    by path, as tests/conftest.py has the same module name."""
    path = REPO / "tests" / "e2e" / "conftest.py"
    spec = importlib.util.spec_from_file_location("peerlane_e2e_conftest", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


_E2E = _e2e_conftest()
CHROMIUM: str = _E2E.CHROMIUM
CHROMIUM_ARGS: list[str] = _E2E.CHROMIUM_ARGS
LOOPBACK: str = _E2E.LOOPBACK
TEST_ADDRESS: str = _E2E.TEST_ADDRESS

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        CDPSession,
        ConsoleMessage,
        Page,
        Playwright,
    )

TARGET_P50_MS = 300.0
CONNECT_DEADLINE_S = 15.0  # the mesh itself gives up on a link after 15 s
LEAVE_DEADLINE_S = 15.0
NAME_KEY = "peerlane.name"  # src/peerlane/web/store.js

# Injected into every document of browser B before any page script. Marks are
# performance.now() values (ms since the navigation start of the document); only the
# first occurrence of each is kept, and `events` keeps the order of everything.
INSTRUMENT_JS = r"""
(cfg) => {
  if (location.origin !== cfg.origin) return;
  try { localStorage.setItem(cfg.nameKey, cfg.name); } catch (e) { /* no storage */ }
  const B = { marks: {}, events: [], counts: {}, side: null, selfPeer: null, peerAtOpen: null,
              errors: [] };
  Object.defineProperty(window, "__connectBench", { value: B });
  // The page's uncaught errors (the cdp driver has no Playwright "pageerror" event).
  window.addEventListener("error", (e) => B.errors.push("uncaught: " + e.message));
  window.addEventListener("unhandledrejection", (e) => B.errors.push("unhandled: " + e.reason));
  const now = () => performance.now();
  const mark = (k) => {
    const t = now();
    if (!(k in B.marks)) B.marks[k] = t;
    B.counts[k] = (B.counts[k] || 0) + 1;
    if (B.events.length < 200) B.events.push([Math.round(t * 10) / 10, k]);
  };
  let finish, found;
  B.done = new Promise((resolve) => { finish = resolve; });
  B.ready = new Promise((resolve) => { found = resolve; });

  // The join page of a revision without the join at once is usable: the "Join room"
  // button is in the DOM.
  const seen = new MutationObserver(() => {
    for (const b of document.querySelectorAll("button")) {
      if (b.textContent.trim() === "Join room") {
        mark("ready");
        seen.disconnect();
        found(b);
        return;
      }
    }
  });
  seen.observe(document, { childList: true, subtree: true });
  // Or the page joins at once (a remembered name): no button, no click.
  const nativeFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    if (new URL(url, location.href).pathname === "/api/join" && !("ready" in B.marks)) {
      mark("ready");
      B.auto = true;
      seen.disconnect();
      found("auto");
    }
    return nativeFetch.call(this, input, init);
  };
  // The room is on screen: its message list is in the DOM (after the clock stops, maybe).
  let shown;
  B.rendered = new Promise((resolve) => { shown = resolve; });
  const rendered = new MutationObserver(() => {
    if (document.querySelector("pl-message-list")) {
      mark("rendered");
      rendered.disconnect();
      shown(true);
    }
  });
  rendered.observe(document, { childList: true, subtree: true });
  document.addEventListener("click", () => mark("click"), true);
  document.addEventListener("submit", () => mark("submit"), true);

  // The room WebSocket: hello, welcome, synced and the signals in both directions.
  const NativeWS = window.WebSocket;
  window.WebSocket = class extends NativeWS {
    constructor(...args) {
      super(...args);
      mark("ws_create");
      this.addEventListener("open", () => mark("ws_open"));
      this.addEventListener("message", (ev) => {
        if (typeof ev.data !== "string") return;
        let m;
        try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m.type === "welcome") { mark("welcome"); B.selfPeer = m.peer_id; }
        else if (m.type === "synced") mark("synced");
        else if (m.type === "signal") mark("in_" + m.kind);
      });
    }
    send(data) {
      if (typeof data === "string") {
        try {
          const m = JSON.parse(data);
          if (m.type === "hello") mark("hello");
          else if (m.type === "signal") mark("out_" + m.kind);
        } catch (e) { /* not JSON */ }
      }
      return super.send(data);
    }
  };

  // The peer connection: gathering, ICE, DTLS (connectionState) and the chat channel.
  const NativePC = window.RTCPeerConnection;
  if (NativePC) {
    window.RTCPeerConnection = class extends NativePC {
      constructor(...args) {
        super(...args);
        mark("pc_create");
        this.addEventListener("icecandidate",
          (e) => mark(e.candidate ? "local_candidate" : "gather_done"));
        this.addEventListener("iceconnectionstatechange",
          () => mark("ice_" + this.iceConnectionState));
        this.addEventListener("connectionstatechange",
          () => mark("conn_" + this.connectionState));
      }
      createDataChannel(...args) {
        const channel = super.createDataChannel(...args);
        if (channel.label === "chat") channel.addEventListener("open", () => mark("dc_open"));
        return channel;
      }
    };
  }

  // The room page publishes window.peerlane = {room}; watch the room's "peers" events.
  let value;
  Object.defineProperty(window, "peerlane", {
    configurable: true,
    enumerable: true,
    get() { return value; },
    set(v) {
      value = v;
      const room = v && v.room;
      if (!room || B.room) return;
      B.room = room;
      mark("room_set");
      const check = () => {
        if (!(room.directCount >= 1)) return;
        for (const view of room.peers.values()) {
          if (view.direct && view.path === "direct") {
            mark("open");
            B.peerAtOpen = view.peer_id;
            const out = B.marks.out_offer, inOffer = B.marks.in_offer;
            B.side = out !== undefined && (inOffer === undefined || out < inOffer)
              ? "offerer" : "answerer";
            room.removeEventListener("peers", check);
            finish(true);
            return;
          }
        }
      };
      room.addEventListener("peers", check);
      check();
    },
  });
}
"""

# Where to click "Join room", once it is rendered (a rectangle), or null at the deadline.
READY_JS = """
async (ms) => {
  const B = window.__connectBench;
  if (!B) return {url: location.href, missing: true};
  const button = await Promise.race([B.ready, new Promise((r) => setTimeout(() => r(null), ms))]);
  if (button === "auto") return {auto: true};
  if (!button) {
    return {url: location.href, state: document.readyState, marks: B.marks,
            body: (document.body ? document.body.innerText : "").slice(0, 300)};
  }
  const r = button.getBoundingClientRect();
  return {x: r.left + r.width / 2, y: r.top + r.height / 2};
}
"""

WAIT_JS = """
async (ms) => {
  const B = window.__connectBench;
  if (!B) return false;
  return Promise.race([B.done, new Promise((resolve) => setTimeout(() => resolve(false), ms))]);
}
"""

# After the clock stopped: wait (bounded) for the room to be rendered, for rendered_ms.
WAIT_RENDERED_JS = WAIT_JS.replace("B.done", "B.rendered")

COLLECT_JS = r"""
() => {
  const B = window.__connectBench;
  const nav = performance.getEntriesByType("navigation")[0];
  const api = performance.getEntriesByType("resource")
    .filter((e) => new URL(e.name).pathname.startsWith("/api/"))
    .map((e) => ({path: new URL(e.name).pathname, start: e.startTime, end: e.responseEnd}));
  // The client's files: /app/<version>/ (and /static/ for a revision from before it).
  const fileName = (e) => new URL(e.name).pathname.replace(/^\/(static|app\/[0-9a-f]+)\//, "");
  const statics = performance.getEntriesByType("resource")
    .filter((e) => /^\/(static|app)\//.test(new URL(e.name).pathname));
  return {
    marks: B.marks, counts: B.counts, events: B.events, side: B.side, errors: B.errors,
    selfPeer: B.selfPeer, peerAtOpen: B.peerAtOpen,
    html: nav ? nav.responseEnd : null,
    dcl: nav ? nav.domContentLoadedEventEnd : null,
    staticCount: statics.length,
    statics: statics.map((e) => [fileName(e),
      Math.round(e.startTime), Math.round(e.responseEnd)]),
    staticEnd: statics.reduce((m, e) => Math.max(m, e.responseEnd), 0),
    api,
  };
}
"""

# Intervals of the breakdown, in order; each ends at a mark (ms since navigation start).
PHASES = (
    ("load", "page load: navigation -> join request sent (or Join button rendered)"),
    ("click", "the click, on a page with a Join button: rendered -> click event (via CDP)"),
    ("join", "POST /api/join: sent (or clicked) -> response"),
    ("start", "join answered -> the room's WebSocket created"),
    ("welcome", "WebSocket: created -> welcome"),
    ("sdp", "offer/answer: welcome -> both descriptions exchanged"),
    ("connect", "ICE + DTLS + SCTP: -> chat channel open"),
    ("report", "channel open -> room reports the direct peer"),
)


CPU_KEYS = ("cpu_b", "cpu_a", "cpu_server", "cpu_driver", "busy")


def chromium_args(no_omnibox_popup: bool) -> list[str]:
    """The e2e suite's flags; with no_omnibox_popup, WebUIOmniboxPopup is also disabled."""
    if not no_omnibox_popup:
        return list(CHROMIUM_ARGS)
    flag = "--disable-features="
    args = [a + ",WebUIOmniboxPopup" if a.startswith(flag) else a for a in CHROMIUM_ARGS]
    if not any(a.startswith(flag) for a in args):
        args.append(flag + "WebUIOmniboxPopup")
    return args


class RunFailed(Exception):
    pass


# ------------------------------------------------------------------- namespace ----


def namespace_problem() -> str | None:
    """None inside the private test namespace (the same rule as tests/e2e/conftest.py:
    only 127.0.0.1 on lo and 10.77.0.1 on one interface, link-local IPv6 aside);
    otherwise what is wrong."""
    try:
        out = subprocess.run(
            ["ip", "-o", "addr", "show"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot list addresses: {exc}"
    rows = []
    for line in out.splitlines():
        parts = line.split()
        scope = parts[parts.index("scope") + 1] if "scope" in parts else ""
        rows.append((parts[1].split("@")[0], parts[2], parts[3].split("/")[0], scope))
    v4 = sorted(addr for _, fam, addr, _ in rows if fam == "inet")
    foreign = [
        " ".join(r)
        for r in rows
        if not (
            (r[0] == "lo" and r[2] in (LOOPBACK, "::1"))
            or (r[1] == "inet" and r[2] == TEST_ADDRESS)
            or (r[1] == "inet6" and r[3] == "link")
        )
    ]
    test_ifaces = {r[0] for r in rows if r[1] == "inet" and r[2] == TEST_ADDRESS}
    if foreign or v4 != sorted([LOOPBACK, TEST_ADDRESS]) or len(test_ifaces) != 1:
        listing = "\n  ".join(" ".join(r) for r in rows)
        return f"addresses here:\n  {listing}"
    return None


# ----------------------------------------------------------------------- stats ----


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "p50": round(percentile(ordered, 50), 1),
        "p95": round(percentile(ordered, 95), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def cpu_by_role(
    before: ProcessTable,
    after: ProcessTable,
    server_pid: int,
    a_profile: str,
    others: Sequence[tuple[int, str]] = (),
) -> tuple[dict[str, float], dict[str, float]]:
    """CPU ms spent between two snapshots by this script's descendants, by role: the
    server, browser A (the Chromium whose profile is a_profile, and its children),
    browser B (every other Chromium) and the rest (the Playwright driver). Processes
    gone by the second snapshot are not counted. Also B's CPU by process kind. others:
    (server pid, A's profile) of the other variants (--compare-with), whose servers and
    browsers A are left out."""

    def tree(root: int) -> set[int]:
        return descendants(after, root)

    ours = tree(os.getpid()) - {os.getpid()}

    def browser(profile: str) -> set[int]:
        """The Chromium started with this profile, exactly (profile-a is not profile-a1)."""
        flag = f"--user-data-dir={profile}"
        roots = [
            p for p in ours if flag in after[p][2].split("\0") and "--type=" not in after[p][2]
        ]
        return set().union(*(tree(p) for p in roots))

    server = tree(server_pid)
    a = browser(a_profile)
    ignored = set().union(*(tree(pid) | browser(profile) for pid, profile in others))
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    spent = {"server": 0.0, "a": 0.0, "b": 0.0, "driver": 0.0}
    b_kinds: dict[str, float] = {}
    for pid in ours - ignored:
        delta = after[pid][1] - (before[pid][1] if pid in before else 0)
        if pid in server:
            role = "server"
        elif pid in a:
            role = "a"
        else:
            role = "b" if "chromium" in after[pid][2] else "driver"
        spent[role] += delta * tick_ms
        if role == "b":
            kind = chromium_kind(after[pid][2])
            b_kinds[kind] = b_kinds.get(kind, 0.0) + delta * tick_ms
    return spent, b_kinds


def chromium_kind(cmdline: str) -> str:
    """browser, renderer, gpu, network, storage, zygote, ... from a Chromium command line."""
    args = cmdline.replace("\0", " ").split()  # zygote children rewrite it, space-separated
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), "browser")
    sub = next((a.split("=", 1)[1] for a in args if a.startswith("--utility-sub-type=")), "")
    if sub:
        return sub.split(".", 1)[0]  # network.mojom.NetworkService -> network
    return kind.replace("-process", "")


def git_state() -> dict[str, Any]:
    """The commit measured, and whether the web client had uncommitted changes."""
    web = "src/peerlane/web"
    dirty = bool(git("status", "--porcelain", web))
    return {"commit": git("rev-parse", "--short", "HEAD"), "web_dirty": dirty}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


# -------------------------------------------------------------------- variants ----


def check_served(variants: Sequence[Variant], bases: Sequence[str]) -> list[str]:
    """Proof that each server runs its own variant's tree (raises RunFailed otherwise):
    with the server's environment, Python imports peerlane from that tree, and the server
    serves /static/app.js -- and the first web file that differs between the trees, if
    one does -- byte for byte as that tree has it. Returns what was checked."""
    import httpx

    files = [{str(f.relative_to(v.web)) for f in v.web.rglob("*") if f.is_file()} for v in variants]
    common = set.intersection(*files)
    differing = sorted(f for f in common if len({(v.web / f).read_bytes() for v in variants}) > 1)
    probes = ["app.js", *(f for f in differing[:1] if f != "app.js")]
    lines = []
    for variant, base in zip(variants, bases, strict=True):
        done = subprocess.run(
            [sys.executable, "-c", "import peerlane; print(peerlane.__file__)"],
            env={**os.environ, **variant.env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        imported = Path(done.stdout.strip()).resolve().parent
        if imported != (variant.tree / "src" / "peerlane").resolve():
            raise RunFailed(
                f"{variant.name}: its server's environment imports peerlane from "
                f"{imported or '?'}, not from {variant.tree / 'src'}: {done.stderr[-500:]}"
            )
        for probe in probes:
            served = httpx.get(f"{base}/static/{probe}", timeout=10).content
            if served != (variant.web / probe).read_bytes():
                raise RunFailed(
                    f"{variant.name}: {base}/static/{probe} is not {variant.web / probe}"
                )
        digest = hashlib.sha256((variant.web / "app.js").read_bytes()).hexdigest()[:12]
        lines.append(
            f"{variant.name} ({variant.commit}): {base} serves "
            + ", ".join(f"/static/{p}" for p in probes)
            + f" byte for byte as {variant.web} (app.js sha256 {digest}); "
            f"peerlane imported from {imported}"
        )
    if differing:
        shown = ", ".join(differing[:5]) + (", ..." if len(differing) > 5 else "")
        lines.append(
            f"{len(differing)} of the {len(common)} web files in both trees differ ({shown}); "
            f"/static/{differing[0]} tells the servers apart"
        )
    else:
        lines.append(
            f"the {len(common)} web files in both trees are identical, so the served bytes "
            "cannot tell the servers apart (the import check can)"
        )
    only = set.union(*files) - common
    if only:
        lines.append(f"{len(only)} web files are in one tree only: {', '.join(sorted(only)[:5])}")
    return lines


# ---------------------------------------------------------------------- a run ----


def phases(data: dict[str, Any]) -> dict[str, float]:
    """The timeline of one run as named intervals (ms) plus the totals."""
    m = data["marks"]
    api = data["api"]

    def api_end(pred: Any) -> float | None:
        ends = [e["end"] for e in api if pred(e["path"])]
        return min(ends) if ends else None

    join = api_end(lambda p: p == "/api/join")
    sdp_marks = [m.get(k) for k in ("out_offer", "in_answer", "in_offer", "out_answer")]
    sdp_pairs = [(m.get("out_offer"), m.get("in_answer")), (m.get("in_offer"), m.get("out_answer"))]
    exchanged = [max(a, b) for a, b in sdp_pairs if a is not None and b is not None]
    points = {
        "load": m.get("ready"),
        "click": m.get("click", m.get("ready")),  # no click when the page joins at once
        "join": join,
        "start": m.get("ws_create"),
        "welcome": m.get("welcome"),
        "sdp": min(exchanged) if exchanged else None,
        "connect": m.get("dc_open"),
        "report": m.get("open"),
    }
    out: dict[str, float] = {}
    previous = 0.0
    for name, _ in PHASES:
        at = points[name]
        if at is None:
            raise RunFailed(f"no mark for {name}: marks {m}, api {api}, sdp {sdp_marks}")
        out[name] = at - previous
        previous = at
    out["total"] = points["report"]
    out["app"] = out["total"] - out["click"]
    # Extra detail, where present.
    room_get = api_end(lambda p: p.startswith("/api/rooms/") and p.count("/") == 3)
    history = api_end(lambda p: p.endswith("/messages"))
    for key, value in (
        ("html_ms", data["html"]),
        ("static_end_ms", data["staticEnd"]),
        ("room_get_ms", room_get),
        ("history_ms", history),
        ("ws_open_ms", m.get("ws_open")),
        ("room_set_ms", m.get("room_set")),
        ("rendered_ms", m.get("rendered")),
        ("ice_connected_ms", m.get("ice_connected")),
        ("dtls_connected_ms", m.get("conn_connected")),
        ("first_local_candidate_ms", m.get("local_candidate")),
    ):
        if value is not None:
            out[key] = value
    return out


@dataclass
class Setup:
    """What every run needs: the Playwright instance, browser A, the server (one per
    variant with --compare-with)."""

    pw: Playwright
    shared: Browser | None  # --browser context: the one Chromium for every B
    root: Path
    base: str
    link: str
    a_page: Page
    a_profile: str
    server_pid: int
    args: list[str]
    name: str = "current"
    # (server pid, A's profile) of the other variants: their CPU is left out of this one's
    others: list[tuple[int, str]] = field(default_factory=list)
    settle: bool = True  # wait for B's new window to go idle before opening the link
    trace_dir: Path | None = None  # --trace: a Chromium trace of B per run
    driver: str = "playwright"  # or "cdp": B without Playwright (bench/_cdp.py)
    cdp_args: list[str] = field(default_factory=list)  # B's switches then: A's (Playwright's)
    returning: bool = False  # B a returning visitor (bench/_returning.py)


def new_b(setup: Setup, index: int) -> BrowserContext:
    if setup.shared is not None:
        return setup.shared.new_context(viewport={"width": 1280, "height": 800})
    return setup.pw.chromium.launch_persistent_context(
        str(setup.root / f"profile-b{index}"),
        executable_path=CHROMIUM,
        headless=True,
        args=setup.args,
        viewport={"width": 1280, "height": 800},
    )


SETTLE_WINDOW_S = 0.15  # B is idle when it used at most one clock tick in this long
SETTLE_DEADLINE_S = 10.0


def settle_b(setup: Setup) -> float:
    """Wait until browser B (its every process) is idle, bounded; the ms it took.

    A new Chromium window is not idle for a while: Chromium builds its own WebUI in a
    renderer of its own (the omnibox popup, ~0.3-0.9 s of CPU) and the browser process
    sets the window up. A person opens an invite link in a browser that is already up,
    so that work is Chromium's, not the link's, and on two cores it would compete with
    the page for the whole measured interval."""
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    started = time.perf_counter()
    before = process_table()
    while time.perf_counter() - started < SETTLE_DEADLINE_S:
        time.sleep(SETTLE_WINDOW_S)
        after = process_table()
        spent, _ = cpu_by_role(before, after, setup.server_pid, setup.a_profile, setup.others)
        if spent["b"] <= tick_ms:
            return (time.perf_counter() - started) * 1000
        before = after
    raise RunFailed(f"browser B still busy after {SETTLE_DEADLINE_S:g} s")


TRACE_CATEGORIES = (
    "devtools.timeline,v8.execute,blink,loading,netlog,toplevel,"
    "disabled-by-default-devtools.timeline,disabled-by-default-devtools.timeline.frame"
)


def start_trace(context: BrowserContext, page: Page) -> CDPSession:
    """Start a Chromium trace of B (every process) through a CDP session of its page."""
    cdp = context.new_cdp_session(page)
    cdp.send("Tracing.start", {"categories": TRACE_CATEGORIES, "transferMode": "ReturnAsStream"})
    return cdp


def save_trace(cdp: CDPSession, path: Path) -> None:
    """End the trace started by start_trace and write it to path (bounded wait)."""
    done: list[str] = []
    cdp.on("Tracing.tracingComplete", lambda event: done.append(event["stream"]))
    cdp.send("Tracing.end")
    deadline = time.perf_counter() + 30
    while not done:
        if time.perf_counter() > deadline:
            raise RunFailed("the trace did not complete in 30 s")
        cdp.send("Runtime.evaluate", {"expression": "0"})  # lets the event arrive
    chunks = []
    while True:
        part = cdp.send("IO.read", {"handle": done[0]})
        chunks.append(part["data"])
        if part.get("eof"):
            break
    cdp.send("IO.close", {"handle": done[0]})
    cdp.detach()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(chunks))


def find_button(page: Page, deadline: float) -> dict[str, Any]:
    """Once the invite link's page has sent its join (``{"auto": True}``) or rendered a
    "Join room" button (where it is: x, y), bounded."""
    from playwright.sync_api import Error

    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise RunFailed('no join and no "Join room" button in time')
        try:
            where = page.evaluate(READY_JS, int(left * 1000))
        except Error as exc:  # the about:blank context went away under the call
            where = {"error": str(exc)}
        if "x" in where or where.get("auto"):
            found: dict[str, Any] = where
            return found
        if not where.get("missing") and "error" not in where:
            raise RunFailed(f'no join and no "Join room" button in time: {where}')
        time.sleep(0.005)  # the link's document is not there yet: ask it again


def wait_alone(setup: Setup, what: str) -> None:
    """A's room has no peer left (bounded)."""
    wait_js(
        setup.a_page,
        "() => window.peerlane?.room?.peers.size === 0",
        timeout=LEAVE_DEADLINE_S,
        what=what,
    )


@dataclass
class Measured:
    """What a run saw between opening the link and the open channel."""

    data: dict[str, Any]  # COLLECT_JS
    ok: bool
    wall: float
    settle_ms: float
    procs: tuple[ProcessTable, ProcessTable]
    busy: tuple[tuple[int, int], tuple[int, int]]
    errors: list[str]


def run_result(setup: Setup, m: Measured) -> dict[str, Any]:
    if not m.ok:
        raise RunFailed(f"no open data channel within {CONNECT_DEADLINE_S:g} s: {m.data}")
    data = m.data
    result: dict[str, Any] = {**phases(data)}
    cpu, b_kinds = cpu_by_role(*m.procs, setup.server_pid, setup.a_profile, setup.others)
    (busy0, busy1) = m.busy
    result.update(
        wall=m.wall,
        settle_ms=m.settle_ms,
        side=data["side"],
        cpu_b=cpu["b"],
        cpu_a=cpu["a"],
        cpu_server=cpu["server"],
        cpu_driver=cpu["driver"],
        busy=100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
        **{f"cpu_b_{kind}": ms for kind, ms in b_kinds.items()},
        pcs=data["counts"].get("pc_create", 0),
        local_candidates=data["counts"].get("local_candidate", 0),
        remote_candidates=data["counts"].get("in_candidate", 0),
        static_files=data["staticCount"],
        statics=data["statics"],
        errors=m.errors + [e for e in data.get("errors", []) if e not in m.errors],
        events=data["events"],
    )
    return result


def one_run(setup: Setup, index: int) -> dict[str, Any]:
    if setup.returning:  # before the clock: the visit that keeps the app shell
        profile = setup.root / f"profile-b{index}"
        prime_profile(setup.pw, CHROMIUM, setup.args, profile, setup.base)
    if setup.driver == "cdp":
        return one_run_cdp(setup, index)
    # Start from a room where A is alone (a failed run may have left B behind).
    wait_alone(setup, "A alone in the room")
    errors: list[str] = []
    context = new_b(setup, index)
    try:
        context.set_default_timeout(CONNECT_DEADLINE_S * 1000)
        cfg = {"origin": setup.base, "nameKey": NAME_KEY, "name": f"bob{index}"}
        context.add_init_script(script=f"({INSTRUMENT_JS})({json.dumps(cfg)})")
        page = context.pages[0] if context.pages else context.new_page()
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                errors.append(f"console.error: {msg.text}")

        page.on("console", on_console)
        settle_ms = settle_b(setup) if setup.settle else 0.0
        tracing = start_trace(context, page) if setup.trace_dir else None
        procs0, busy0 = process_table(), machine_jiffies()
        started = time.perf_counter()
        page.goto(setup.link, wait_until="commit")
        # The page joins at once; a revision before that needs the click: a mouse click
        # at the button's place (CDP Input events), no Playwright selector engine, whose
        # injected script would compile in the page (~70 ms of its main thread here)
        # while the page loads.
        where = find_button(page, started + CONNECT_DEADLINE_S)
        if not where.get("auto"):
            page.mouse.click(where["x"], where["y"])
        left = CONNECT_DEADLINE_S - (time.perf_counter() - started)
        ok = page.evaluate(WAIT_JS, max(0, int(left * 1000)))
        wall = (time.perf_counter() - started) * 1000
        procs1, busy1 = process_table(), machine_jiffies()
        if tracing is not None and setup.trace_dir is not None:
            save_trace(tracing, setup.trace_dir / f"{setup.name}-b{index}.json")
        if ok:
            page.evaluate(WAIT_RENDERED_JS, 5000)
        data = page.evaluate(COLLECT_JS)
        result = run_result(
            setup,
            Measured(data, ok, wall, settle_ms, (procs0, procs1), (busy0, busy1), errors),
        )
    finally:
        closing = time.perf_counter()
        context.close()
    wait_alone(setup, "A sees B leave")
    result["leave_ms"] = (time.perf_counter() - closing) * 1000
    return result


def playwright_switches(a_profile: str) -> list[str]:
    """The command line Playwright gave browser A's Chromium, less its profile, its
    debugging connection and its start page. B, driven without Playwright, runs with
    these, so the two drivers differ only in what is attached (Playwright adds about 35
    switches of its own to ours)."""
    for pid in process_table():
        try:
            parts = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        args = parts.split("\0")
        if f"--user-data-dir={a_profile}" in args and not any(
            a.startswith("--type=") for a in args
        ):
            dropped = ("--user-data-dir=", "--remote-debugging-", "about:", "data:")
            return [a for a in args[1:] if a and not a.startswith(dropped)]
    raise RunFailed("browser A's command line not found")


def one_run_cdp(setup: Setup, index: int) -> dict[str, Any]:
    """One run with B a new Chromium driven over a DevTools pipe (bench/_cdp.py), no
    Playwright attached to it: the same switches, viewport, instrumentation, link and
    clock."""
    wait_alone(setup, "A alone in the room")
    if not setup.cdp_args:
        setup.cdp_args = playwright_switches(setup.a_profile)
    try:
        browser = PipeBrowser(CHROMIUM, setup.cdp_args, setup.root / f"profile-b{index}")
    except OSError as exc:
        raise RunFailed(f"cannot start browser B: {exc}") from exc
    try:
        browser.attach_to_page()
        cfg = {"origin": setup.base, "nameKey": NAME_KEY, "name": f"bob{index}"}
        browser.send("Page.enable")  # the one domain needed: scripts for new documents
        browser.send(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": f"({INSTRUMENT_JS})({json.dumps(cfg)})"},
        )
        browser.send(  # Playwright's default viewport, as new_b gives it
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
        )
        settle_ms = settle_b(setup) if setup.settle else 0.0
        procs0, busy0 = process_table(), machine_jiffies()
        started = time.perf_counter()
        browser.send("Page.navigate", {"url": setup.link})
        deadline = started + CONNECT_DEADLINE_S
        while True:  # the link's document, once its instrumentation is there
            left = deadline - time.perf_counter()
            if left <= 0:
                raise RunFailed("the invite link's page did not load in time")
            try:
                where = browser.evaluate(f"({READY_JS})({int(left * 1000)})", timeout=left + 1)
            except CdpError:  # the blank document went away under the call
                where = {"missing": True}
            if where.get("auto"):
                break
            if "x" in where:
                raise RunFailed("the page shows a Join button: the cdp driver does not click")
            if not where.get("missing"):
                raise RunFailed(f"no join in time: {where}")
            time.sleep(0.005)  # still the blank document: ask the new one
        left = deadline - time.perf_counter()
        ok = bool(browser.evaluate(f"({WAIT_JS})({max(0, int(left * 1000))})", timeout=left + 1))
        wall = (time.perf_counter() - started) * 1000
        procs1, busy1 = process_table(), machine_jiffies()
        if ok:
            browser.evaluate(f"({WAIT_RENDERED_JS})(5000)", timeout=6)
        data = browser.evaluate(f"({COLLECT_JS})()")
        result = run_result(
            setup, Measured(data, ok, wall, settle_ms, (procs0, procs1), (busy0, busy1), [])
        )
    except CdpError as exc:
        raise RunFailed(f"DevTools: {exc}") from exc
    finally:
        closing = time.perf_counter()
        browser.close()
    wait_alone(setup, "A sees B leave")
    result["leave_ms"] = (time.perf_counter() - closing) * 1000
    return result


# ---------------------------------------------------------------------- output ----


def run_table(runs: list[dict[str, Any]]) -> str:
    names = [n for n, _ in PHASES]
    cpu = ("cpu_b", "cpu_a", "cpu_server", "busy")
    head = ["run", "side", "total", "app", "wall", *names, "leave", "cpuB", "cpuA", "cpuS", "busy%"]
    rows = [head]
    for r in runs:
        rows.append(
            [
                r["label"],
                r["side"] or "?",
                *(f"{r[k]:.0f}" for k in ("total", "app", "wall", *names, "leave_ms", *cpu)),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_table(stats: dict[str, dict[str, float]]) -> str:
    rows = [["ms", "p50", "p95", "min", "max", ""]]
    labels = dict(PHASES)
    labels.update(
        total="navigation -> open channel (in page)",
        app="total without the click",
        wall="page.goto -> wait returned (Python)",
        leave_ms="B closed -> A sees B leave",
        cpu_b="CPU ms of browser B (every process) from goto to open",
        cpu_a="CPU ms of browser A in that interval",
        cpu_server="CPU ms of the server in that interval",
        cpu_driver="CPU ms of the Playwright driver in that interval",
        busy="% of the machine's CPUs busy in that interval (everyone)",
    )
    for key in ("total", "app", "wall", *(n for n, _ in PHASES), "leave_ms", *CPU_KEYS):
        s = stats[key]
        rows.append([key, *(f"{s[q]:.0f}" for q in ("p50", "p95", "min", "max")), labels[key]])
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for row in rows:
        cells = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:5], widths[1:], strict=True)),
        ]
        lines.append("  ".join([*cells, row[5]]).rstrip())
    return "\n".join(lines)


# ------------------------------------------------------------------------ main ----


@contextlib.contextmanager
def time_limit(seconds: float, server: list[ServerProcess]) -> Iterator[None]:
    """Bounded no matter what: SIGALRM raises TimeoutError at the limit (clean-up runs);
    60 s later a watchdog kills the server and exits the process."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"time limit of {seconds:g} s reached")

    def watchdog() -> None:
        if not done.wait(seconds + 60):
            print("connect_time: clean-up hung; exiting", file=sys.stderr, flush=True)
            for proc in server:
                if proc.proc is not None:
                    proc.proc.kill()
            os._exit(3)

    done = threading.Event()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    threading.Thread(target=watchdog, daemon=True).start()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        done.set()


def server_env(total_runs: int) -> dict[str, str]:
    """The environment every variant's server gets (on top of ServerProcess's)."""
    return {
        "PEERLANE_HOST": LOOPBACK,
        "PEERLANE_LOG_LEVEL": "warning",
        # every run joins from 127.0.0.1 as a new participant
        "PEERLANE_JOINS_PER_MINUTE": "100000",
        "PEERLANE_MAX_PARTICIPANTS": str(total_runs + 10),
    }


def open_room(a: BrowserContext, base: str, a_errors: list[str]) -> tuple[Page, str]:
    """Browser A creates a room through the UI: its page and the invite link."""
    a.set_default_timeout(15_000)
    a_page = a.pages[0] if a.pages else a.new_page()
    a_page.on("pageerror", lambda e: a_errors.append(f"uncaught: {e}"))
    create_room_ui(a_page, base, "alice")
    link: str = invite_link(a_page)
    return a_page, link


def run_stats(measured: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    keys = ["total", "app", "wall", *(n for n, _ in PHASES), "leave_ms", *CPU_KEYS]
    extra = sorted(
        {
            k
            for r in measured
            for k in r
            if (k.endswith("_ms") and k != "leave_ms") or k.startswith("cpu_b_")
        }
    )
    return {k: summary([r[k] for r in measured if k in r]) for k in [*keys, *extra]}


def bench(
    opts: argparse.Namespace,
    tmp: Path,
    servers: list[ServerProcess],
    variants: Sequence[Variant],
) -> dict[str, Any]:
    """Every variant's server, browser A and room, then the runs (interleaved when there
    are several variants). Per variant: its runs, measured runs, stats and failures."""
    from playwright.sync_api import sync_playwright

    total_runs = opts.warmup + opts.runs
    compare = len(variants) > 1
    for i, variant in enumerate(variants):
        server = ServerProcess(
            tmp / ("data" if i == 0 else f"data-{i}"),
            env={**server_env(total_runs), **variant.env},
        )
        servers.append(server)
        server.start()
    checks = check_served(variants, [s.base for s in servers]) if compare else []
    for line in checks:
        print(f"connect_time: check: {line}", file=sys.stderr, flush=True)
    runs: list[list[dict[str, Any]]] = [[] for _ in variants]
    failures: list[list[str]] = [[] for _ in variants]
    a_errors: list[list[str]] = [[] for _ in variants]
    busy0: tuple[int, int] | None = None
    load0: list[float] | None = None
    args = chromium_args(opts.no_omnibox_popup)
    with sync_playwright() as pw:
        browsers_a: list[BrowserContext] = []
        shared = None
        try:
            setups: list[Setup] = []
            for i, (variant, server) in enumerate(zip(variants, servers, strict=True)):
                a_profile = str(tmp / ("profile-a" if i == 0 else f"profile-a{i}"))
                a = pw.chromium.launch_persistent_context(
                    a_profile,
                    executable_path=CHROMIUM,
                    headless=True,
                    args=args,
                    viewport={"width": 1280, "height": 800},
                )
                browsers_a.append(a)
                a_page, link = open_room(a, server.base, a_errors[i])
                assert server.proc is not None
                setups.append(
                    Setup(
                        pw=pw,
                        shared=None,
                        root=tmp,
                        base=server.base,
                        link=link,
                        a_page=a_page,
                        a_profile=a_profile,
                        server_pid=server.proc.pid,
                        args=args,
                        name=variant.name,
                        settle=not opts.no_settle,
                        trace_dir=opts.trace,
                        driver=opts.driver,
                        returning=variant.returning,
                    )
                )
            if opts.browser == "context":
                shared = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            for setup in setups:
                setup.shared = shared
                setup.others = [(o.server_pid, o.a_profile) for o in setups if o is not setup]
            cdp = browsers_a[0].new_cdp_session(setups[0].a_page)
            version = str(cdp.send("Browser.getVersion").get("product", "?"))
            cdp.detach()
            failed = 0
            # i numbers the runs of every variant together: B's profile and name.
            for i, (v, k) in enumerate(interleave(len(setups), total_runs)):
                label = f"w{k + 1}" if k < opts.warmup else str(k - opts.warmup + 1)
                width = max(len(s.name) for s in setups)
                prefix = f"[{setups[v].name}]".ljust(width + 3) if compare else ""
                if busy0 is None and k >= opts.warmup:
                    busy0, load0 = machine_jiffies(), loadavg()
                try:
                    result = one_run(setups[v], i)
                except (RunFailed, AssertionError) as exc:
                    failures[v].append(f"{prefix}run {label}: {exc}")
                    print(
                        f"{prefix}run {label}: FAILED: {str(exc)[:2000]}",
                        file=sys.stderr,
                        flush=True,
                    )
                    failed += 1
                    if failed >= 3:
                        break
                    continue
                result["label"] = label
                result["warmup"] = k < opts.warmup
                runs[v].append(result)
                for err in result["errors"]:
                    print(f"{prefix}run {label}: {err}", file=sys.stderr)
                print(prefix + run_table([result]).splitlines()[-1], file=sys.stderr, flush=True)
            busy1, load1 = machine_jiffies(), loadavg()
        finally:
            if shared is not None:
                shared.close()
            for a in browsers_a:
                a.close()
    busy_pct = None
    if busy0 is not None:
        busy_pct = round(100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]), 1)
    outcomes = []
    for i, variant in enumerate(variants):
        measured = [r for r in runs[i] if not r["warmup"]]
        outcomes.append(
            {
                "variant": variant,
                "runs": runs[i],
                "measured": measured,
                "stats": run_stats(measured),
                "failures": failures[i],
                "a_errors": a_errors[i],
            }
        )
    return {
        "variants": outcomes,
        "checks": checks,
        "chromium": version,
        "load_start": load0,
        "load_end": load1,
        "busy_pct": busy_pct,
    }


def paired_differences(
    first: list[dict[str, Any]], second: list[dict[str, Any]], key: str = "total"
) -> list[float]:
    """first[key] - second[key] of the measured runs with the same number (the runs of
    one ABBA round), where both variants' runs succeeded."""
    other = {r["label"]: r[key] for r in second}
    return [r[key] - other[r["label"]] for r in first if r["label"] in other]


def comparison_table(
    names: tuple[str, str], first: dict[str, dict[str, float]], second: dict[str, dict[str, float]]
) -> str:
    """p50 of every phase and CPU figure for two variants, and first - second."""
    head = ["p50 ms", names[0], names[1], f"{names[0]} - {names[1]}"]
    rows = [head]
    for key in ("total", "app", "wall", *(n for n, _ in PHASES), "leave_ms", *CPU_KEYS):
        a, b = first[key].get("p50"), second[key].get("p50")
        cells = [f"{x:.0f}" if x is not None else "-" for x in (a, b)]
        diff = f"{round(a) - round(b):+d}" if a is not None and b is not None else "-"
        rows.append([key if key != "busy" else "busy%", *cells, diff])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for row in rows:
        padded = (c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))
        lines.append("  ".join([row[0].ljust(widths[0]), *padded]))
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_variant(outcome: dict[str, Any]) -> None:
    """One variant's run table, summary, counts, failures and browser A's errors."""
    stats, measured = outcome["stats"], outcome["measured"]
    sides = [r["side"] for r in measured]
    if measured:
        print(run_table(measured))
        print()
        print(summary_table(stats))
        restarts = sum(1 for r in measured if r["pcs"] != 1)
        noisy = sum(1 for r in measured if r["errors"])
        print(
            f"runs with more than one RTCPeerConnection: {restarts}; "
            f"with JavaScript errors in B: {noisy}"
        )
        print(
            f"B made the offer in {sides.count('offerer')} runs, answered in "
            f"{sides.count('answerer')} (the higher peer id offers; A keeps one "
            "id for the whole session, B gets a random one per run)"
        )
    for failure in outcome["failures"]:
        print(f"FAILED {failure[:500]}")
    for err in outcome["a_errors"]:
        print(f"browser A: {err}")


def variant_report(outcome: dict[str, Any]) -> dict[str, Any]:
    """One variant's part of the JSON line (--compare-with)."""
    variant: Variant = outcome["variant"]
    measured = outcome["measured"]
    sides = [r["side"] for r in measured]
    return {
        "tree": str(variant.tree),
        "commit": variant.commit,
        "runs": len(measured),
        "failed": len(outcome["failures"]),
        "ms": outcome["stats"],
        "offerer_runs": sides.count("offerer"),
        "answerer_runs": sides.count("answerer"),
        "runs_with_several_pcs": sum(1 for r in measured if r["pcs"] != 1),
        "runs_with_js_errors": sum(1 for r in measured if r["errors"]),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--runs", type=int, default=20, help="measured runs (20; per variant with --compare-with)"
    )
    ap.add_argument("--warmup", type=int, default=2, help="runs first, not counted (2)")
    ap.add_argument("--quick", action="store_true", help="5 runs (and 1 warm-up)")
    ap.add_argument(
        "--browser",
        choices=("process", "context"),
        default="process",
        help="B per run: a new Chromium process + profile (default), or a new context "
        "in one shared Chromium process",
    )
    ap.add_argument(
        "--driver",
        choices=("playwright", "cdp"),
        default="playwright",
        help="what drives browser B: Playwright (default), or only the DevTools commands "
        "the benchmark needs, over a pipe (bench/_cdp.py): no automation attached to the "
        "page, as in a person's browser (process mode, no click, no --trace)",
    )
    ap.add_argument(
        "--no-omnibox-popup",
        action="store_true",
        help="also disable Chromium's WebUIOmniboxPopup feature: a new window then does "
        "not build the WebUI omnibox popup while the page loads (context mode: ~0.4 s CPU)",
    )
    ap.add_argument(
        "--trace",
        type=Path,
        metavar="DIR",
        help="save a Chromium trace of browser B per run into DIR (chrome://tracing or "
        "Perfetto; tracing adds its own overhead to the times)",
    )
    ap.add_argument(
        "--no-settle",
        action="store_true",
        help="open the link as soon as B's window exists, not once B is idle: Chromium's "
        "own window set-up then runs inside the measured interval",
    )
    ap.add_argument(
        "--compare-with",
        metavar="REV",
        help="also measure git revision REV (a worktree of it, a second server, browser A "
        "and room), alternating with the working tree run by run (ABBA)",
    )
    ap.add_argument(
        "--returning",
        action="store_true",
        help="a returning visitor (the service worker keeps the app shell: a visit with "
        "the same profile before the clock) against a first visit, interleaved (ABBA)",
    )
    ap.add_argument("--target-p50-ms", type=float, default=TARGET_P50_MS, help="(300)")
    ap.add_argument("--check", action="store_true", help="exit 1 when p50 misses the target")
    ap.add_argument("--verbose", action="store_true", help="print every run's event timeline")
    ap.add_argument(
        "--time-limit", type=float, default=0, help="seconds for everything (default: by runs)"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.warmup = 5, 1
    if args.runs < 1 or args.warmup < 0:
        ap.error("--runs must be at least 1 and --warmup at least 0")
    if args.driver == "cdp" and (args.browser != "process" or args.trace):
        ap.error("--driver cdp drives a new Chromium process per run, without --trace")
    if args.returning and (args.compare_with or args.browser != "process"):
        ap.error(
            "--returning compares two kinds of visit of the working tree, each B a "
            "new Chromium process with its own profile"
        )
    if not args.time_limit:
        variants = 2 if args.compare_with or args.returning else 1
        per_run = 75 if args.returning else 45  # the visit that keeps the app shell
        args.time_limit = 120 * variants + per_run * variants * (args.runs + args.warmup)
    return args


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    problem = namespace_problem()
    if problem is not None or os.environ.get("NETNS_RUN") != "1":
        print(
            "connect_time: refusing to run outside the private test network namespace "
            "(WebRTC must never reach beyond this machine). Run it as:\n"
            "    scripts/netns-run .venv/bin/python bench/connect_time.py\n"
            + (problem or "NETNS_RUN is not set"),
            file=sys.stderr,
        )
        return 2
    if not Path(CHROMIUM).exists():
        print(f"connect_time: {CHROMIUM} is missing (make system-deps)", file=sys.stderr)
        return 2
    servers: list[ServerProcess] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="peerlane-connect-") as tmp:
        worktree = Path(tmp) / "worktree" if opts.compare_with else None
        try:
            with time_limit(opts.time_limit, servers):
                variants = [current_variant()]
                if opts.returning:
                    first = variants[0]
                    variants = [
                        Variant("first", first.tree, first.commit),
                        Variant("returning", first.tree, first.commit, returning=True),
                    ]
                if worktree is not None:
                    variants.append(add_worktree(opts.compare_with, worktree))
                result = bench(opts, Path(tmp), servers, variants)
        except TimeoutError as exc:
            print(f"connect_time: stopped: {exc} (--time-limit)", file=sys.stderr)
            return 1
        except ValueError as exc:  # --compare-with: not a commit, or no worktree
            print(f"connect_time: {exc}", file=sys.stderr)
            return 2
        except RunFailed as exc:  # --compare-with: a server does not run its own tree
            print(f"connect_time: check failed: {exc}", file=sys.stderr)
            return 1
        finally:
            for server in servers:
                server.stop()
            if worktree is not None:
                remove_worktree(worktree)
    outcomes = result["variants"]
    stats, measured = outcomes[0]["stats"], outcomes[0]["measured"]
    p50 = stats["total"].get("p50") if measured else None
    met = p50 is not None and p50 <= opts.target_p50_ms
    sides = [r["side"] for r in measured]
    report = {
        "bench": "connect_time",
        "browser": opts.browser,
        "driver": opts.driver,
        "no_omnibox_popup": opts.no_omnibox_popup,
        "settle": not opts.no_settle,
        "runs": len(measured),
        "warmup": opts.warmup,
        "failed": len(outcomes[0]["failures"]),
        "target_p50_ms": opts.target_p50_ms,
        "target_met": met,
        "ms": stats,
        "offerer_runs": sides.count("offerer"),
        "runs_with_several_pcs": sum(1 for r in measured if r["pcs"] != 1),
        "runs_with_js_errors": sum(1 for r in measured if r["errors"]),
        "answerer_runs": sides.count("answerer"),
        "machine": {
            "nproc": os.cpu_count(),
            "cpu": cpu_model(),
            "loadavg_start": result["load_start"],
            "loadavg_end": result["load_end"],
            "busy_pct_during_runs": result["busy_pct"],
            "chromium": result["chromium"],
            "python": platform.python_version(),
        },
        "git": git_state(),
    }
    diffs: list[float] = []
    kinds = None
    if opts.returning and len(outcomes) > 1:
        kinds = returning_report(stats, outcomes[1]["stats"])
        report["returning"] = kinds
    if len(outcomes) > 1:
        rev = outcomes[1]["variant"]
        diffs = paired_differences(measured, outcomes[1]["measured"])
        report["compare"] = {
            "rev": rev.name,
            "commit": rev.commit,
            "order": "ABBA",
            "checks": result["checks"],
            "variants": {o["variant"].name: variant_report(o) for o in outcomes},
            "paired_total_diff_ms": {
                "of": f"{outcomes[0]['variant'].name} - {rev.name}",
                "median": round(statistics.median(diffs), 1) if diffs else None,
                "pairs": len(diffs),
                "diffs": [round(d, 1) for d in diffs],
            },
        }
    report["seconds"] = round(time.monotonic() - started, 1)
    if opts.verbose:
        for o in outcomes:
            prefix = f"[{o['variant'].name}] " if len(outcomes) > 1 else ""
            for r in o["runs"]:
                print(f"{prefix}run {r['label']} ({r['side']}): {r['events']}")
                print(f"{prefix}run {r['label']} static files [path, start, end]: {r['statics']}")
    print()
    if len(outcomes) == 1:
        print(
            f"connect_time: {len(measured)} runs (+{opts.warmup} warm-up), browser B = "
            f"{opts.browser}, Chromium {result['chromium']}, {os.cpu_count()} cores, "
            f"load {result['load_start']} -> {result['load_end']}, "
            f"busy {result['busy_pct']}% during the runs"
        )
        print_variant(outcomes[0])
    else:
        current, rev = outcomes[0]["variant"], outcomes[1]["variant"]
        dirty = git("status", "--porcelain", "--", "src")
        what = "--returning" if opts.returning else f"--compare-with {rev.name}"
        print(
            f"connect_time: {what}: {opts.runs} runs per variant "
            f"(+{opts.warmup} warm-up each), interleaved ABBA, browser B = {opts.browser}, "
            f"Chromium {result['chromium']}, {os.cpu_count()} cores, "
            f"load {result['load_start']} -> {result['load_end']}, "
            f"busy {result['busy_pct']}% during the runs"
        )
        print(
            f"  {current.name} = the working tree {current.tree} (HEAD {current.commit}"
            + (", with uncommitted changes in src/" if dirty else "")
            + (
                "); returning = the same tree, B's profile primed (the app shell kept)"
                if opts.returning
                else f"); {rev.name} = {rev.commit} (a worktree)"
            )
        )
        for line in result["checks"]:
            print(f"  check: {line}")
        for o in outcomes:
            v = o["variant"]
            print()
            print(f"== {v.name} ({v.commit}): {len(o['measured'])} runs ==")
            print_variant(o)
        print()
        print(comparison_table((current.name, rev.name), stats, outcomes[1]["stats"]))
        print(
            f"paired difference of the totals, {current.name} - {rev.name} (run k of each, "
            f"{len(diffs)} pairs): median "
            + (f"{statistics.median(diffs):+.0f} ms" if diffs else "-")
            + (f"; per pair: {' '.join(f'{round(d):+d}' for d in diffs)}" if diffs else "")
        )
    print(
        f"target p50 <= {opts.target_p50_ms:g} ms: "
        + ("met" if met else "NOT met")
        + (f" (p50 {p50:.0f} ms)" if p50 is not None else "")
    )
    if kinds is not None:
        print(returning_line(kinds))
    print(json.dumps(report))
    if any(o["failures"] or not o["measured"] for o in outcomes):
        return 1
    return 1 if opts.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())

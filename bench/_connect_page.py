"""connect_time.py's browser side: Chromium's path and flags, the page instrumentation
(init script, waits, collection) and the namespace check."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]


from chromium_browsers import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    CHROMIUM as _CHROMIUM,
)
from chromium_browsers import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    CHROMIUM_ARGS as _CHROMIUM_ARGS,
)


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
# The browser path and flags moved to tests/chromium_browsers.py (shared with other suites).
CHROMIUM: str = _CHROMIUM
CHROMIUM_ARGS: list[str] = list(_CHROMIUM_ARGS)
LOOPBACK: str = _E2E.LOOPBACK
TEST_ADDRESS: str = _E2E.TEST_ADDRESS

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

  // What the page awaits on its way into the room besides the network: IndexedDB
  // requests (the room keys, the device's copy) and WebCrypto calls (the link's key, the
  // sealed name). Each one's time from call to answer is summed until the room starts
  // (room_set) and until the channel opens: an encrypted link's extra awaits show here.
  B.waits = { idb: [], crypto: [] };
  const timed = (kind, name, started) => {
    if (B.waits[kind].length < 200) B.waits[kind].push([name, started, now()]);
  };
  const wrapRequest = (proto, method, name) => {
    const native = proto && proto[method];
    if (!native) return;
    proto[method] = function (...args) {
      const started = now();
      const request = native.apply(this, args);
      const end = () => timed("idb", name, started);
      request.addEventListener("success", end, { once: true });
      request.addEventListener("error", end, { once: true });
      return request;
    };
  };
  if (window.IDBFactory) wrapRequest(IDBFactory.prototype, "open", "open");
  if (window.IDBObjectStore) {
    for (const method of ["get", "getAll", "put", "add", "delete"]) {
      wrapRequest(IDBObjectStore.prototype, method, method);
    }
  }
  if (window.SubtleCrypto) {
    for (const method of ["importKey", "deriveKey", "deriveBits", "decrypt", "encrypt",
                          "generateKey", "exportKey", "sign", "digest"]) {
      const native = SubtleCrypto.prototype[method];
      if (!native) continue;
      SubtleCrypto.prototype[method] = function (...args) {
        const started = now();
        const done = native.apply(this, args);
        done.then(() => timed("crypto", method, started), () => timed("crypto", method, started));
        return done;
      };
    }
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
    waits: B.waits,
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

"""A page-side timeline of WebRTC connects, for benches that ask where connect time goes.

``install(page)`` wraps ``RTCPeerConnection`` and ``WebSocket`` in every document the page
loads from then on (an init script), so that each negotiation step is stamped with
``performance.now()``: the connection made, offer / answer, every ICE candidate gathered
(type, protocol) or added, the gathering, ICE and connection states, the chat channel
opening, and each signaling message in and out. ``take(page)`` returns and clears them.
Headless Chromium has no chrome://webrtc-internals; this is the part of it a bench needs.
"""

from __future__ import annotations

from typing import Any

HOOK_JS = r"""
(() => {
  const events = (window.__rtcTimeline = []);
  const log = (what) => events.push([performance.now(), what]);
  const Peer = window.RTCPeerConnection;
  if (!Peer) return;
  let made = 0;
  window.RTCPeerConnection = function (config) {
    const pc = new Peer(config);
    const n = `pc${++made}`;
    log(`${n} new`);
    pc.addEventListener("icecandidate", (e) =>
      log(`${n} gathered ${e.candidate ? `${e.candidate.type} ${e.candidate.protocol}` : "end"}`));
    for (const [event, state] of [["icegatheringstatechange", "iceGatheringState"],
        ["iceconnectionstatechange", "iceConnectionState"],
        ["connectionstatechange", "connectionState"], ["signalingstatechange", "signalingState"]])
      pc.addEventListener(event, () => log(`${n} ${state} ${pc[state]}`));
    const setLocal = pc.setLocalDescription.bind(pc);
    pc.setLocalDescription = async (d) => {
      const r = await setLocal(d);
      log(`${n} local ${pc.localDescription?.type}`);
      return r;
    };
    const setRemote = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = async (d) => { log(`${n} remote ${d?.type}`); return setRemote(d); };
    const add = pc.addIceCandidate.bind(pc);
    pc.addIceCandidate = async (c) => {
      log(`${n} added ${/ typ (\w+)/.exec(c?.candidate ?? "")?.[1] ?? "end"}`);
      return add(c);
    };
    const channel = pc.createDataChannel.bind(pc);
    pc.createDataChannel = (label, options) => {
      const ch = channel(label, options);
      ch.addEventListener("open", () => log(`${n} channel ${label} open`));
      return ch;
    };
    return pc;
  };
  window.RTCPeerConnection.prototype = Peer.prototype;
  const Socket = window.WebSocket;
  const kindOf = (text) => {
    try {
      const m = JSON.parse(text);
      return [m.type, m.kind ?? m.data?.kind].filter(Boolean).join(" ");
    } catch {
      return "?";
    }
  };
  window.WebSocket = function (...args) {
    const ws = new Socket(...args);
    ws.addEventListener("open", () => log("ws open"));
    ws.addEventListener("message", (e) => log(`ws <- ${kindOf(e.data)}`));
    const send = ws.send.bind(ws);
    ws.send = (data) => { log(`ws -> ${kindOf(data)}`); return send(data); };
    return ws;
  };
  window.WebSocket.prototype = Socket.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})();
"""


def install(page: Any) -> None:
    """Stamp every later document of ``page``'s browser context (reloads included)."""
    page.context.add_init_script(HOOK_JS)


def take(page: Any) -> list[tuple[float, str]]:
    """The page's events since its load or the last take: (ms since navigation, what)."""
    rows = page.evaluate("() => (window.__rtcTimeline ?? []).splice(0)")
    return [(float(ms), str(what)) for ms, what in rows]


def render(sides: dict[str, list[tuple[float, str]]], origin_ms: dict[str, float]) -> str:
    """Both pages' events, one line each in time order, ``origin_ms`` subtracted per page."""
    merged = sorted(
        (ms - origin_ms.get(name, 0.0), name, what)
        for name, events in sides.items()
        for ms, what in events
    )
    return "\n".join(f"  {ms:7.0f} ms  {name:5}  {what}" for ms, name, what in merged)

"""``transfer_browser.py --profile``: timers around the transfer engine's steps in the
sending and the receiving page (the same modules, wrapped in place), and Chromium's
sampling profiler on a page's main thread."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

PROFILE_SENDER_JS = """
async () => {
  const send = await import('/static/transfer-send.js');
  const wire = await import('/static/transfer-wire.js');
  const fresh = () => ({windowWait: 0, windowWaits: 0, drainWait: 0, drains: 0,
    sendBlock: 0, blocks: 0, channelSend: 0, frames: 0, read: 0, reads: 0, emptyQueue: 0});
  let p = (window.__prof = fresh());
  window.__profReset = () => { p = window.__prof = fresh(); };
  if (window.__profInstalled) return true;
  window.__profInstalled = true;
  const S = send.SendSession.prototype, C = wire.ChannelSender.prototype;
  const arrayBuffer = Blob.prototype.arrayBuffer;
  Blob.prototype.arrayBuffer = async function () {
    const t = performance.now();
    try { return await arrayBuffer.call(this); }
    finally { p.read += performance.now() - t; p.reads += 1; }
  };
  if (send.FileStream) {  // reading the file as a stream, straight into the frames
    const frame = send.FileStream.prototype.frame;
    send.FileStream.prototype.frame = async function (...args) {
      const t = performance.now();
      try { return await frame.apply(this, args); }
      finally { p.read += performance.now() - t; p.reads += 1; }
    };
  }
  const channelSend = C.send;
  C.send = async function (data) {
    // the queue ran dry before this frame: the channel sat idle, waiting for the app
    if (typeof data !== 'string' && this.channel.bufferedAmount === 0) p.emptyQueue += 1;
    const t = performance.now();
    try { return await channelSend.call(this, data); }
    finally { p.channelSend += performance.now() - t; p.frames += 1; }
  };
  const timed = (proto, name, key, count) => {
    const inner = proto[name];
    proto[name] = async function (...args) {
      const t = performance.now();
      try { return await inner.apply(this, args); }
      finally { p[key] += performance.now() - t; if (count) p[count] += 1; }
    };
  };
  const roomInWindow = S._roomInWindow;
  S._roomInWindow = async function () {
    if (this.inFlight.size < send.WINDOW_BLOCKS || this.closed) return roomInWindow.call(this);
    const t = performance.now();
    try { return await roomInWindow.call(this); }
    finally { p.windowWait += performance.now() - t; p.windowWaits += 1; }
  };
  timed(S, '_sendBlock', 'sendBlock', 'blocks');
  timed(C, 'drained', 'drainWait', 'drains');
  return true;
}
"""

PROFILE_RECEIVER_JS = """
async () => {
  const recv = await import('/static/transfer-receive.js');
  const engine = await import('/static/transfer.js');
  const fresh = () => ({onFrame: 0, frames: 0, complete: 0, blocks: 0, write: 0,
    checkpoint: 0, checkpoints: 0});
  let p = (window.__prof = fresh());
  window.__profReset = () => { p = window.__prof = fresh(); };
  if (window.__profInstalled) return true;
  window.__profInstalled = true;
  const R = recv.BlockReceiver.prototype, E = engine.Transfers.prototype;
  const timed = (proto, name, key, count) => {
    const inner = proto[name];
    proto[name] = async function (...args) {
      const t = performance.now();
      try { return await inner.apply(this, args); }
      finally { p[key] += performance.now() - t; if (count) p[count] += 1; }
    };
  };
  const complete = R._complete;
  R._complete = async function (...args) {
    if (!this.writer.__timed) {
      const write = this.writer.write.bind(this.writer);
      this.writer.write = async (...a) => {
        const t = performance.now();
        try { return await write(...a); } finally { p.write += performance.now() - t; }
      };
      this.writer.__timed = true;
    }
    const t = performance.now();
    try { return await complete.apply(this, args); }
    finally { p.complete += performance.now() - t; p.blocks += 1; }
  };
  timed(E, '_onFrame', 'onFrame', 'frames');
  timed(E, '_checkpointOnce', 'checkpoint', 'checkpoints');
  return true;
}
"""


def js_profile_start(page: Any) -> Any:
    """Chromium's sampling profiler on the page's main thread (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 500})
    cdp.send("Profiler.start")
    return cdp


def js_profile_stop(cdp: Any, top: int = 12) -> dict[str, Any]:
    """Main-thread time by function (self time, ms), plus idle / GC / program."""
    profile = cdp.send("Profiler.stop")["profile"]
    cdp.detach()
    nodes = {n["id"]: n["callFrame"] for n in profile["nodes"]}
    self_us: dict[str, float] = defaultdict(float)
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        frame = nodes[node_id]
        where = frame["url"].rsplit("/", 1)[-1]
        name = frame["functionName"] or "(anonymous)"
        key = f"{name} {where}:{frame['lineNumber'] + 1}" if where else name
        self_us[key] += delta
    total = profile["endTime"] - profile["startTime"]
    ranked = sorted(self_us.items(), key=lambda kv: -kv[1])
    idle = self_us.get("(idle)", 0.0)
    return {
        "wall_ms": round(total / 1000),
        "busy_ms": round((total - idle) / 1000),
        "top_self_ms": {k: round(v / 1000) for k, v in ranked[:top] if k != "(idle)"},
    }

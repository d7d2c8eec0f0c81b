"""The bare RTCDataChannel of bench/transfer_browser.py: no peerlane code (only the
constants come from /static/transfer-wire.js), one ordered, reliable channel between a
page in each browser, SDP and candidates carried by Python; a blast of the engine's
frames with the engine's watermarks, timed from the first send to the last byte in."""

from __future__ import annotations

from typing import Any

from _browser_cpu import CpuMeter

BARE_SETUP_JS = """
async (initiator) => {
  const wire = await import('/static/transfer-wire.js');
  const pc = new RTCPeerConnection({iceServers: []});
  const b = (window.__bare = {pc, candidates: [], gathered: false, dc: null,
    wire: {chunk: wire.CHUNK_BYTES, header: wire.HEADER_BYTES, high: wire.HIGH_WATER,
           low: wire.LOW_WATER},
    rx: {bytes: 0, first: 0, last: 0}});
  pc.onicecandidate = (e) => {
    if (e.candidate) b.candidates.push(e.candidate.toJSON()); else b.gathered = true;
  };
  const receive = (dc) => {
    dc.binaryType = 'arraybuffer';
    dc.onmessage = (e) => {
      const now = performance.timeOrigin + performance.now();
      if (!b.rx.first) b.rx.first = now;
      b.rx.bytes += e.data.byteLength - b.wire.header;
      b.rx.last = now;
    };
  };
  if (!initiator) {
    pc.ondatachannel = (e) => { b.dc = e.channel; receive(e.channel); };
    return null;
  }
  b.dc = pc.createDataChannel('bare', {ordered: true});
  b.dc.binaryType = 'arraybuffer';
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription.toJSON();
}
"""

BARE_ANSWER_JS = """
async (offer) => {
  const pc = window.__bare.pc;
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  return pc.localDescription.toJSON();
}
"""

BARE_CANDIDATES_JS = """
async (candidates) => {
  for (const c of candidates) await window.__bare.pc.addIceCandidate(c);
  await window.__bare.pc.addIceCandidate();
}
"""

# Sends `total` payload bytes; resolves with the wall-clock ms of the first send.
BARE_BLAST_JS = """
async (total) => {
  const {dc, wire} = window.__bare;
  dc.bufferedAmountLowThreshold = wire.low;
  const payload = new Uint8Array(wire.chunk);
  crypto.getRandomValues(payload.subarray(0, 65536));
  window.__bare.emptyQueue = 0;
  const start = performance.timeOrigin + performance.now();
  let sent = 0, frame = 0;
  while (sent < total) {
    if (dc.bufferedAmount > wire.high) {
      await new Promise((r) => dc.addEventListener('bufferedamountlow', r, {once: true}));
    }
    if (sent && dc.bufferedAmount === 0) window.__bare.emptyQueue += 1;
    const n = Math.min(wire.chunk, total - sent);
    const buf = new ArrayBuffer(wire.header + n);  // a fresh frame, as encodeData makes it
    const view = new DataView(buf);
    view.setUint32(0, Math.floor(frame / 16));
    view.setUint32(4, (frame % 16) * wire.chunk);
    new Uint8Array(buf, wire.header).set(payload.subarray(0, n));
    dc.send(buf);
    sent += n;
    frame += 1;
  }
  return start;
}
"""


def bare_connect(a: Any, b: Any) -> dict[str, int]:
    from e2e.helpers import wait_js

    offer = a.evaluate(BARE_SETUP_JS, True)
    b.evaluate(BARE_SETUP_JS, False)
    answer = b.evaluate(BARE_ANSWER_JS, offer)
    a.evaluate("async (answer) => window.__bare.pc.setRemoteDescription(answer)", answer)
    for page in (a, b):
        wait_js(page, "() => window.__bare.gathered", what="ICE gathering")
    b.evaluate(BARE_CANDIDATES_JS, a.evaluate("window.__bare.candidates"))
    a.evaluate(BARE_CANDIDATES_JS, b.evaluate("window.__bare.candidates"))
    for page in (a, b):
        wait_js(page, "() => window.__bare.dc?.readyState === 'open'", what="bare channel open")
    return dict(a.evaluate("window.__bare.wire"))


def bare_blast(a: Any, b: Any, size: int, timeout: float, cpu: CpuMeter) -> dict[str, Any]:
    """One blast of ``size`` bytes; seconds from the first send to the last byte in."""
    from e2e.helpers import wait_js

    b.evaluate("() => { window.__bare.rx = {bytes: 0, first: 0, last: 0}; }")
    before = cpu.snapshot()
    start = a.evaluate(BARE_BLAST_JS, size)
    rx = wait_js(
        b,
        "(size) => window.__bare.rx.bytes >= size && window.__bare.rx",
        size,
        timeout=timeout,
        what="bare blast received",
    )
    assert rx["bytes"] == size, rx
    return {
        "cpu": cpu.since(before),
        "seconds": (rx["last"] - start) / 1000,
        "empty_queue_frames": a.evaluate("window.__bare.emptyQueue"),
    }

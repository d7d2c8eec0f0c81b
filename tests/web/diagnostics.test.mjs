// The /diagnostics page's checks (src/peerlane/web/diagnostics.js) against a scripted
// RTCPeerConnection: which candidates a configuration gathers is up to the test.
import assert from "node:assert/strict";
import { test } from "node:test";

import { runDiagnostics, turnCheck } from "../../src/peerlane/web/diagnostics.js";

const host = (address, port) => ({ type: "host", address, port });
const srflx = (address, port, base = ["10.0.0.2", 5000]) => ({
  type: "srflx",
  address,
  port,
  relatedAddress: base[0],
  relatedPort: base[1],
});
const relay = (address, port) => ({ type: "relay", address, port });

/**
 * A fake RTCPeerConnection class whose gathering follows `script(config)`: the candidates
 * to announce, then the end of gathering; or "hang" (nothing ever comes: a server that
 * does not answer). Two connections of the throughput check talk through a fake channel.
 */
function scripted(script) {
  const made = [];
  class PC {
    constructor(config = {}) {
      this.config = config;
      this.closed = false;
      this.onicecandidate = null;
      this.ondatachannel = null;
      this.localDescription = null;
      made.push(this);
    }
    createDataChannel(label) {
      this.channel = new FakeChannel(label);
      return this.channel;
    }
    async createOffer() {
      return { type: "offer", sdp: "o" };
    }
    async createAnswer() {
      return { type: "answer", sdp: "a" };
    }
    async setLocalDescription(description) {
      this.localDescription = description;
      if (!this.config.iceServers) return; // the throughput pair: no gathering to script
      const plan = script(this.config);
      if (plan === "hang") return;
      setTimeout(() => {
        for (const candidate of plan) this.onicecandidate?.({ candidate });
        this.onicecandidate?.({ candidate: null });
      });
    }
    async setRemoteDescription(description) {
      if (description.type !== "answer") return;
      // The offerer (made first) got the answer: the pair is connected.
      const [a, b] = made.filter((pc) => !pc.config.iceServers);
      const remote = new FakeChannel(a.channel.label);
      a.channel.peer = remote;
      setTimeout(() => {
        b.ondatachannel?.({ channel: remote });
        a.channel.dispatchEvent(new Event("open"));
      });
    }
    async addIceCandidate() {}
    close() {
      this.closed = true;
    }
  }
  return { PC, made };
}

class FakeChannel extends EventTarget {
  constructor(label) {
    super();
    this.label = label;
    this.bufferedAmount = 0;
    this.onmessage = null;
    this.peer = null;
  }
  send(chunk) {
    const data = chunk.slice().buffer;
    setTimeout(() => this.peer.onmessage?.({ data }));
  }
}

const STUN_A = { label: "STUN UDP a:3478", kind: "stun", url: "stun:a:3478" };
const STUN_B = { label: "STUN UDP b:3478", kind: "stun", url: "stun:b:3478" };
const TURN_UDP = {
  label: "TURN UDP t:3478",
  kind: "turn",
  url: "turn:t:3478?transport=udp",
  username: "1:diagnostics",
  credential: "pw",
};
const TURN_TCP = { ...TURN_UDP, label: "TURN TCP t:3478", url: "turn:t:3478?transport=tcp" };

const urlsOf = (config) => config.iceServers.flatMap((s) => [s.urls].flat());

function clock() {
  let t = 0;
  return () => {
    t += 500; // every reading half a second later: 8 MiB in 0.5 s
    return t;
  };
}

test("udp blocked: STUN and TURN UDP fail, TURN TCP allocates; every check is reported", async () => {
  const { PC, made } = scripted((config) => {
    const urls = urlsOf(config);
    if (urls.some((u) => u.startsWith("stun:"))) return "hang"; // no answer: gathering goes on
    if (urls.some((u) => u.endsWith("udp"))) return [host("10.0.0.2", 5000)];
    return [host("10.0.0.2", 5001), relay("203.0.113.9", 50000)];
  });
  const probes = [STUN_A, TURN_UDP, TURN_TCP];
  // The answering servers' candidates come a timer tick later: a gathering timeout of 1 s
  // leaves a starved event loop room (50 ms lost the race at load 30).
  const got = await runDiagnostics({
    RTC: PC,
    secure: true,
    probes,
    gatherMs: 1000,
    throughputMs: 60_000,
    now: clock(),
  });
  assert.deepEqual(
    got.checks.map((c) => [c.name, c.ok]),
    [
      ["server", true],
      ["secure-context", true],
      ["webrtc", true],
      ["STUN UDP a:3478", false],
      ["TURN UDP t:3478", false],
      ["TURN TCP t:3478", true],
      ["data-channel", true],
    ],
  );
  assert.equal(got.checks[5].detail, "relay allocated at 203.0.113.9:50000");
  assert.equal(got.checks[6].detail, "16.8 MB/s through a data channel in this browser");
  assert.deepEqual(got.mapped, { "STUN UDP a:3478": null });
  assert.equal(got.reflexive, null);
  // A TURN probe offers only its one URL, relay-only, with the server's credentials.
  const turn = made.find((pc) => urlsOf(pc.config ?? { iceServers: [] }).includes(TURN_TCP.url));
  assert.equal(turn.config.iceTransportPolicy, "relay");
  assert.deepEqual(turn.config.iceServers, [{ urls: TURN_TCP.url, username: "1:diagnostics", credential: "pw" }]);
  assert.ok(
    made.every((pc) => pc.closed),
    "every connection closed",
  );
});

test("a server that never answers costs one timeout", async () => {
  const { PC } = scripted(() => "hang");
  const got = await runDiagnostics({
    RTC: PC,
    secure: true,
    probes: [STUN_A, TURN_UDP],
    gatherMs: 30,
    throughputMs: 60_000,
    now: clock(),
  });
  const byName = Object.fromEntries(got.checks.map((c) => [c.name, c]));
  assert.equal(byName["STUN UDP a:3478"].ok, false);
  assert.match(byName["STUN UDP a:3478"].detail, /^no reflexive address within 0.03 s/);
  assert.equal(byName["TURN UDP t:3478"].detail, "no relay allocated within 0.03 s");
});

test("two STUN servers: one address from one socket is one mapping, two are a changing one", async () => {
  for (const [combined, want] of [
    [[srflx("198.51.100.1", 6000)], ["198.51.100.1:6000", "198.51.100.1:6000"]],
    [
      [srflx("198.51.100.1", 6000), srflx("198.51.100.1", 6001)],
      ["198.51.100.1:6000", "198.51.100.1:6001"],
    ],
  ]) {
    const { PC } = scripted((config) => {
      const urls = urlsOf(config);
      if (urls.length === 2) return [host("10.0.0.2", 5000), ...combined];
      return [host("10.0.0.2", 5000), srflx("198.51.100.1", urls[0] === STUN_A.url ? 7000 : 7001)];
    });
    const got = await runDiagnostics({ RTC: PC, secure: true, probes: [STUN_A, STUN_B], now: clock() });
    assert.deepEqual(got.mapped, { [STUN_A.label]: want[0], [STUN_B.label]: want[1] });
    assert.equal(got.reflexive, "198.51.100.1");
    assert.equal(got.checks.find((c) => c.name === STUN_A.label).detail, "reflexive address 198.51.100.1:7000");
  }
});

test("one STUN server answering of two: no mapping test, the silent one is null", async () => {
  const { PC, made } = scripted((config) =>
    urlsOf(config)[0] === STUN_A.url ? [srflx("198.51.100.1", 7000)] : "hang",
  );
  const got = await runDiagnostics({
    RTC: PC,
    secure: true,
    probes: [STUN_A, STUN_B],
    gatherMs: 1000,
    throughputMs: 60_000,
    now: clock(),
  });
  assert.deepEqual(got.mapped, { [STUN_A.label]: "198.51.100.1:7000", [STUN_B.label]: null });
  assert.ok(!made.some((pc) => pc.config.iceServers && urlsOf(pc.config).length === 2), "no combined gather");
});

test("no WebRTC, no secure context: said, and nothing else is tried", async () => {
  const got = await runDiagnostics({ RTC: null, secure: false, probes: [STUN_A] });
  assert.deepEqual(
    got.checks.map((c) => [c.name, c.ok]),
    [
      ["server", true],
      ["secure-context", false],
      ["webrtc", false],
    ],
  );
});

test("a TURN URL without credentials is a failed check, not an attempt", async () => {
  const { PC, made } = scripted(() => [relay("203.0.113.9", 1)]);
  const check = await turnCheck(PC, { ...TURN_UDP, username: null }, 1000);
  assert.deepEqual(check, { name: TURN_UDP.label, ok: false, detail: "the server gave no TURN credentials" });
  assert.equal(made.length, 0);
});

test("gathering that ends in time without a reflexive candidate: the server saw this machine's own address", async () => {
  // The browser drops a reflexive candidate equal to a host one: no NAT.
  const { PC } = scripted(() => [host("10.0.0.2", 5000), { ...host("10.0.0.2", 9), protocol: "tcp" }]);
  const got = await runDiagnostics({ RTC: PC, secure: true, probes: [STUN_A, STUN_B], now: clock() });
  assert.equal(
    got.checks.find((c) => c.name === STUN_A.label).detail,
    "reflexive address 10.0.0.2:5000, this machine's own (no NAT)",
  );
  assert.deepEqual(got.mapped, { [STUN_A.label]: "10.0.0.2:5000", [STUN_B.label]: "10.0.0.2:5000" });
  assert.equal(got.reflexive, "10.0.0.2");
  assert.deepEqual(got.local, ["10.0.0.2"]);
});

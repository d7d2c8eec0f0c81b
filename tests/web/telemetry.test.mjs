// Connection reports (src/peerlane/web/telemetry.js): attempts, bytes per path and error
// kinds, from a fake mesh; what is sent carries enums and numbers only.
import assert from "node:assert/strict";
import { test } from "node:test";

import { PROBLEMS } from "../../src/peerlane/web/mesh-peers.js";
import { ERROR_CODES } from "../../src/peerlane/web/protocol.js";
import { ConnectionReporter, linkPath } from "../../src/peerlane/web/telemetry.js";

/** A getStats() report: one transport whose selected pair has these candidate types. */
function stats({ local = "host", remote = "host", relayProtocol, sent = 0, received = 0 } = {}) {
  return new Map([
    ["T", { type: "transport", selectedCandidatePairId: "P", bytesSent: sent, bytesReceived: received }],
    ["P", { type: "candidate-pair", localCandidateId: "L", remoteCandidateId: "R" }],
    ["L", { type: "local-candidate", candidateType: local, relayProtocol }],
    ["R", { type: "remote-candidate", candidateType: remote }],
  ]);
}

class FakeMesh {
  constructor() {
    this.peers = new Map();
    this.serials = new Map();
    this.open = new Set();
    this.reports = new Map();
  }
  linkSerial(id) {
    return this.serials.get(id) ?? null;
  }
  isOpen(id) {
    return this.open.has(id);
  }
  async linkStats(id) {
    return this.reports.get(id) ?? null;
  }
}

function reporter() {
  let t = 1000;
  const sent = [];
  const r = new ConnectionReporter({
    send: async (report, options) => {
      sent.push({ report, options });
      if (r.answer) throw Object.assign(new Error("refused"), { code: r.answer });
    },
    now: () => t,
  });
  r.answer = null;
  return { r, sent, advance: (ms) => (t += ms) };
}

test("linkPath names the path from both candidates, by this side's relay protocol", () => {
  assert.equal(linkPath(stats()).path, "direct");
  assert.equal(linkPath(stats({ local: "prflx", remote: "srflx" })).path, "direct");
  assert.equal(linkPath(stats({ local: "relay", relayProtocol: "tcp" })).path, "turn-tcp");
  assert.equal(linkPath(stats({ local: "relay", relayProtocol: "tls" })).path, "turn-tls");
  assert.equal(linkPath(stats({ local: "relay" })).path, "turn");
  // Only the peer holds the allocation: relayed, its transport unknown here.
  assert.equal(linkPath(stats({ remote: "relay" })).path, "turn");
  assert.equal(linkPath(new Map()), null);
});

test("an attempt is reported once: connected with its path and time, or failed with a reason", async () => {
  const { r, sent, advance } = reporter();
  const mesh = new FakeMesh();
  mesh.peers.set("a", { path: "connecting", problem: null });
  mesh.peers.set("b", { path: "connecting", problem: null });
  mesh.peers.set("c", { path: "server", problem: PROBLEMS.overLimit }); // no link wanted
  mesh.serials.set("a", 1).set("b", 2);
  await r.observe(mesh);
  advance(850);
  mesh.peers.get("a").path = "turn";
  mesh.open.add("a");
  mesh.reports.set("a", stats({ local: "relay", relayProtocol: "udp" }));
  mesh.peers.get("b").problem = PROBLEMS.relayUnreachable;
  await r.observe(mesh);
  await r.observe(mesh); // nothing new: nothing twice
  await r.flush();
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].report, {
    v: 1,
    client: "web",
    attempts: [
      { outcome: "connected", path: "turn-udp", connect_ms: 850 },
      { outcome: "failed", path: "server", reason: "turn-unreachable" },
    ],
    bytes: [],
    errors: [],
  });
  assert.deepEqual(sent[0].options, { keepalive: false });
  // A new link to the same peer is a new attempt.
  mesh.serials.set("b", 3);
  mesh.peers.get("b").problem = PROBLEMS.iceFailed;
  await r.observe(mesh);
  await r.flush();
  assert.deepEqual(sent[1].report.attempts, [{ outcome: "failed", path: "server", reason: "no-turn" }]);
});

test("bytes are counted per path since the previous report; a new link counts from zero", async () => {
  const { r, sent } = reporter();
  const mesh = new FakeMesh();
  mesh.peers.set("a", { path: "direct", problem: null });
  mesh.serials.set("a", 1);
  mesh.open.add("a");
  mesh.reports.set("a", stats({ sent: 1000, received: 400 }));
  await r.countBytes(mesh);
  mesh.reports.set("a", stats({ sent: 1500, received: 400 }));
  await r.countBytes(mesh);
  await r.flush();
  assert.deepEqual(sent.at(-1).report.bytes, [{ path: "direct", sent: 1500, received: 400 }]);
  mesh.serials.set("a", 2);
  mesh.reports.set("a", stats({ local: "relay", relayProtocol: "tcp", sent: 300, received: 50 }));
  await r.countBytes(mesh);
  await r.flush();
  assert.deepEqual(sent.at(-1).report.bytes, [{ path: "turn-tcp", sent: 300, received: 50 }]);
  const before = sent.length;
  await r.flush(); // nothing moved since: nothing sent
  assert.equal(sent.length, before);
});

test("errors by kind only; unknown names and text stay out", async () => {
  const { r, sent } = reporter();
  r.error(new TypeError("secret text"));
  r.error(new TypeError("more"));
  r.error("a string thrown");
  r.error(Object.assign(Object.create({ constructor: { name: "bad name!" } })));
  r.error(new Error("x"), true);
  await r.flush({ keepalive: true });
  assert.deepEqual(sent[0].report.errors, [
    { kind: "TypeError", count: 2 },
    { kind: "String", count: 1 },
    { kind: "other", count: 1 },
    { kind: "UnhandledRejection", count: 1 },
  ]);
  assert.deepEqual(sent[0].options, { keepalive: true });
  assert.ok(!JSON.stringify(sent[0].report).includes("secret"));
});

test("rate_limited: merged into the next report; telemetry_off: no more reports", async () => {
  const { r, sent } = reporter();
  r.error(new RangeError("x"));
  r.answer = ERROR_CODES.RATE_LIMITED;
  await r.flush();
  r.answer = null;
  r.error(new RangeError("y"));
  await r.flush();
  assert.deepEqual(sent.at(-1).report.errors, [{ kind: "RangeError", count: 2 }]);
  r.answer = ERROR_CODES.TELEMETRY_OFF;
  r.error(new RangeError("z"));
  await r.flush();
  assert.equal(r.off, true);
  const count = sent.length;
  r.error(new RangeError("w"));
  await r.flush();
  assert.equal(sent.length, count, "nothing sent once the server said off");
});

test("a mesh without the link methods (a test fake) is not reported on", async () => {
  const { r, sent } = reporter();
  const mesh = { peers: new Map([["a", { path: "direct", problem: null }]]) };
  await r.observe(mesh);
  await r.countBytes(mesh);
  await r.flush();
  assert.equal(sent.length, 0);
});

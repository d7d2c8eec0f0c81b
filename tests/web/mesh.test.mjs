import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { chooseDirectPeers, Mesh, PROBLEMS } from "../../src/peerlane/web/mesh.js";
import { MAX_RESTARTS } from "../../src/peerlane/web/mesh-restart.js";
import { UPGRADE_FIRST_MS, UPGRADE_MAX_MS, upgradeDelay } from "../../src/peerlane/web/mesh-upgrade.js";
import { FakeClock, FakePeerConnection, until } from "./fakes.mjs";

const info = (id) => ({ peer_id: id, participant_id: `u-${id}`, name: `Name ${id}`, role: "member" });

test("chooseDirectPeers: the first limit+1 sorted ids form the mesh", () => {
  const ids = ["e", "b", "d", "a", "c"];
  assert.deepEqual([...chooseDirectPeers("a", ids, 2)].sort(), ["b", "c"]);
  assert.deepEqual([...chooseDirectPeers("c", ids, 2)].sort(), ["a", "b"]);
  assert.deepEqual([...chooseDirectPeers("d", ids, 2)], [], "outside the mesh: server only");
  assert.deepEqual([...chooseDirectPeers("a", ids, 0)], []);
  assert.deepEqual([...chooseDirectPeers("a", ids, 8)].sort(), ["b", "c", "d", "e"]);
});

test("chooseDirectPeers is symmetric and within the limit", () => {
  const ids = Array.from({ length: 12 }, (_, i) => `peer${(i * 7) % 12}`);
  for (const limit of [0, 1, 3, 8, 20]) {
    for (const a of ids) {
      const mine = chooseDirectPeers(a, ids, limit);
      assert.ok(mine.size <= limit);
      for (const b of ids) {
        if (a === b) continue;
        assert.equal(mine.has(b), chooseDirectPeers(b, ids, limit).has(a), `${a}↔${b} limit ${limit}`);
      }
    }
  }
});

/** Two or more meshes whose signals travel through an in-memory "server". */
function network(ids, { limit = 8, deliver = () => true, iceServers = [] } = {}) {
  const clock = new FakeClock();
  const meshes = new Map();
  const log = [];
  for (const id of ids) {
    const mesh = new Mesh({
      selfPeerId: id,
      meshLimit: limit,
      iceServers,
      clock,
      RTCPeerConnection: FakePeerConnection,
      sendSignal: (to, kind, data) => {
        log.push({ from: id, to, kind, data });
        if (!deliver({ from: id, to, kind })) return true;
        queueMicrotask(() => meshes.get(to)?.handleSignal({ sender: id, kind, data: structuredClone(data) }));
        return true;
      },
    });
    meshes.set(id, mesh);
  }
  for (const [id, mesh] of meshes) mesh.setPeers(ids.filter((x) => x !== id).map(info));
  return { clock, meshes, log };
}

beforeEach(() => {
  FakePeerConnection.all.length = 0;
});

/**
 * Wait until each named mesh has this many open channels.
 * @param {Map<string, Mesh>} meshes
 * @param {Record<string, number>} counts  peer id → open channels
 */
function linked(meshes, counts) {
  const text = JSON.stringify(counts);
  return until(
    () => Object.entries(counts).every(([id, n]) => meshes.get(id).openCount === n),
    `open channels ${text}`,
  );
}

test("two peers connect: only the impolite (higher id) side offers, data flows both ways", async () => {
  const { meshes, log } = network(["aaa", "bbb"]);
  const a = meshes.get("aaa");
  const b = meshes.get("bbb");
  const opened = [];
  a.addEventListener("open", (e) => opened.push(["aaa", e.detail.peerId]));
  b.addEventListener("open", (e) => opened.push(["bbb", e.detail.peerId]));
  await linked(meshes, { aaa: 1, bbb: 1 });
  assert.deepEqual(
    log.filter((s) => s.kind === "offer").map((s) => s.from),
    ["bbb"],
  );
  assert.deepEqual(
    log.filter((s) => s.kind === "answer").map((s) => s.from),
    ["aaa"],
  );
  assert.ok(log.some((s) => s.kind === "candidate"));
  assert.deepEqual(opened.sort(), [
    ["aaa", "bbb"],
    ["bbb", "aaa"],
  ]);
  assert.equal(a.openCount, 1);
  assert.equal(a.peers.get("bbb").path, "direct");
  assert.equal(a.peers.get("bbb").problem, null);
  assert.equal(a.peers.get("bbb").iceState, "connected");

  const got = [];
  b.addEventListener("data", (e) => got.push(e.detail));
  assert.equal(a.send({ t: "hello", participant_id: "u-aaa", name: "A" }), 1);
  await until(() => got.length > 0, "the message");
  assert.deepEqual(got, [{ peerId: "aaa", message: { t: "hello", participant_id: "u-aaa", name: "A" } }]);
  const channel = FakePeerConnection.all[0].channels[0];
  assert.deepEqual(channel.options, { negotiated: true, id: 0, ordered: true });
});

test("garbage on a channel is dropped", async () => {
  const { meshes } = network(["aaa", "bbb"]);
  await linked(meshes, { aaa: 1, bbb: 1 });
  const got = [];
  meshes.get("bbb").addEventListener("data", (e) => got.push(e.detail));
  const pcA = FakePeerConnection.all.find((pc) => pc.partner && pc.channels[0].readyState === "open");
  const channelToB = pcA.partner.channels[0];
  for (const data of ["nope", '{"t":"rm -rf"}', "x".repeat(300_000)]) channelToB.onmessage({ data });
  assert.equal(got.length, 0);
});

test("glare: when both sides offer (an ICE restart each), perfect negotiation settles it", async () => {
  const { meshes, log } = network(["aaa", "bbb"]);
  await linked(meshes, { aaa: 1, bbb: 1 });
  const offersBefore = log.filter((s) => s.kind === "offer").length;
  for (const pc of FakePeerConnection.all) pc.restartIce();
  const newOffers = () => log.filter((s) => s.kind === "offer").slice(offersBefore);
  await until(
    () => newOffers().length >= 2 && FakePeerConnection.all.every((pc) => pc.signalingState === "stable"),
    "both offers, then stable",
  );
  const offers = newOffers();
  assert.equal(offers.length, 2, "both offered");
  for (const pc of FakePeerConnection.all) assert.equal(pc.signalingState, "stable");
  assert.equal(meshes.get("aaa").openCount, 1);
});

test("peers beyond the mesh limit go through the server, with an explanation", async () => {
  const { meshes } = network(["a", "b", "c"], { limit: 1 });
  await linked(meshes, { a: 1, b: 1 });
  assert.equal(meshes.get("a").openCount, 1);
  assert.equal(meshes.get("b").openCount, 1);
  assert.equal(meshes.get("c").openCount, 0);
  const view = meshes.get("c").peers.get("a");
  assert.equal(view.path, "server");
  assert.equal(view.direct, false);
  assert.equal(view.problem, PROBLEMS.overLimit);
  assert.equal(FakePeerConnection.all.length, 2, "no connection made for c");
});

test("no answer within 15 s: the timeout explanation, and the polite side asks to start over", async () => {
  const { meshes, clock, log } = network(["aaa", "bbb"], { deliver: ({ kind }) => kind !== "offer" });
  await until(() => log.some((s) => s.kind === "offer"), "the (lost) offer");
  const a = meshes.get("aaa");
  assert.equal(a.peers.get("bbb").path, "connecting");
  clock.advance(15_000);
  await until(() => log.filter((s) => s.kind === "offer" && s.from === "bbb").length >= 2, "a fresh offer");
  assert.equal(a.peers.get("bbb").path, "server");
  assert.equal(a.peers.get("bbb").problem, PROBLEMS.timeout);
  assert.equal(meshes.get("bbb").peers.get("aaa").problem, PROBLEMS.timeout);
  assert.deepEqual(
    log.filter((s) => s.kind === "bye").map((s) => [s.from, s.data.reason]),
    [
      ["aaa", "restart"],
      ["bbb", "reset"],
    ],
  );
  assert.ok(log.filter((s) => s.kind === "offer" && s.from === "bbb").length >= 2, "a fresh offer followed");
});

test("ICE failure: the plain-words explanation and an ICE restart", async () => {
  const { meshes, clock } = network(["aaa", "bbb"]);
  await linked(meshes, { aaa: 1, bbb: 1 });
  const pc = FakePeerConnection.all.find((p) => p.channels.length);
  pc.channels[0].readyState = "closing"; // the channel is down with it
  pc.failIce();
  const owner = [...meshes.values()].find((m) => [...m.peers.values()].some((v) => v.problem === PROBLEMS.iceFailed));
  assert.ok(owner, "one side shows the ICE explanation");
  clock.advance(1_000);
  assert.equal(pc.restarts, 1);
});

test("channel closed: 'reconnecting' and a fresh connection", async () => {
  const { meshes, clock } = network(["aaa", "bbb"]);
  await linked(meshes, { aaa: 1, bbb: 1 });
  const b = meshes.get("bbb");
  const pcB = FakePeerConnection.all.find((p) => p.channels.length && p.localDescription?.type === "offer");
  pcB.channels[0].readyState = "closed";
  pcB.channels[0].onclose();
  assert.equal(b.peers.get("aaa").problem, PROBLEMS.channelClosed);
  assert.equal(b.peers.get("aaa").path, "server");
  clock.advance(1_000);
  await until(() => b.openCount === 1 && b.peers.get("aaa").problem === null, "the fresh connection");
  assert.equal(b.openCount, 1, "reconnected");
  assert.equal(b.peers.get("aaa").problem, null);
});

test("stats: a relay candidate means the path is turn; RTT in ms", async () => {
  const { meshes, clock } = network(["aaa", "bbb"], {
    iceServers: [
      { urls: ["turn:t"], username: "u", credential: "c" },
      { urls: ["stun:s"], username: null },
    ],
  });
  await linked(meshes, { aaa: 1, bbb: 1 });
  for (const pc of FakePeerConnection.all) {
    pc.stats = new Map([
      ["T", { type: "transport", selectedCandidatePairId: "P" }],
      ["P", { type: "candidate-pair", localCandidateId: "L", currentRoundTripTime: 0.042 }],
      ["L", { type: "local-candidate", candidateType: "relay" }],
    ]);
  }
  clock.advance(2_000);
  await until(() => meshes.get("aaa").peers.get("bbb").rttMs !== null, "the stats");
  const view = meshes.get("aaa").peers.get("bbb");
  assert.equal(view.path, "turn");
  assert.equal(view.rttMs, 42);
  assert.deepEqual(FakePeerConnection.all[0].config.iceServers, [
    { urls: ["turn:t"], username: "u", credential: "c" },
    { urls: ["stun:s"] },
  ]);
});

test("stats without a transport: the nominated succeeded pair", async () => {
  const { meshes, clock } = network(["aaa", "bbb"]);
  await linked(meshes, { aaa: 1, bbb: 1 });
  for (const pc of FakePeerConnection.all) {
    pc.stats = new Map([
      ["P0", { type: "candidate-pair", nominated: false, state: "failed", localCandidateId: "R" }],
      [
        "P1",
        {
          type: "candidate-pair",
          nominated: true,
          state: "succeeded",
          localCandidateId: "H",
          currentRoundTripTime: 0.003,
        },
      ],
      ["H", { type: "local-candidate", candidateType: "host" }],
      ["R", { type: "local-candidate", candidateType: "relay" }],
    ]);
  }
  clock.advance(2_000);
  await until(() => meshes.get("bbb").peers.get("aaa").rttMs !== null, "the stats");
  const view = meshes.get("bbb").peers.get("aaa");
  assert.equal(view.path, "direct");
  assert.equal(view.rttMs, 3);
});

test("removePeer and close(): links closed, byes sent on close", async () => {
  const { meshes, log } = network(["aaa", "bbb", "ccc"]);
  await linked(meshes, { aaa: 2, bbb: 2, ccc: 2 });
  const a = meshes.get("aaa");
  assert.equal(a.openCount, 2);
  a.removePeer("ccc");
  assert.equal(a.openCount, 1);
  assert.equal(a.peers.has("ccc"), false);
  a.close();
  assert.equal(a.openCount, 0);
  assert.deepEqual(
    log.filter((s) => s.kind === "bye" && s.from === "aaa").map((s) => [s.to, s.data.reason]),
    [["bbb", "leave"]],
  );
  await until(() => meshes.get("bbb").peers.get("aaa").path === "server", "bbb to see aaa gone");
});

test("an offer from a peer outside my mesh gets a not_chosen bye", async () => {
  const { meshes, log } = network(["a", "b", "c"], { limit: 1 });
  await linked(meshes, { a: 1, b: 1 });
  meshes.get("a").handleSignal({ sender: "c", kind: "offer", data: { type: "offer", sdp: "x" } });
  assert.deepEqual(log.at(-1), { from: "a", to: "c", kind: "bye", data: { reason: "not_chosen" } });
});

test("without RTCPeerConnection every peer goes through the server", () => {
  const mesh = new Mesh({
    selfPeerId: "a",
    meshLimit: 8,
    clock: new FakeClock(),
    RTCPeerConnection: null,
    sendSignal: () => true,
  });
  mesh.setPeers([info("b")]);
  assert.equal(mesh.peers.get("b").path, "server");
  assert.equal(mesh.peers.get("b").problem, PROBLEMS.unsupported);
  assert.equal(mesh.send({ t: "hello", participant_id: "x", name: "x" }), 0);
});

test("stats: the peer's relay candidate means turn on this side too (prflx → relay)", async () => {
  const { meshes, clock } = network(["aaa", "bbb"]);
  await linked(meshes, { aaa: 1, bbb: 1 });
  for (const pc of FakePeerConnection.all) {
    pc.stats = new Map([
      ["T", { type: "transport", selectedCandidatePairId: "P" }],
      ["P", { type: "candidate-pair", localCandidateId: "L", remoteCandidateId: "R", currentRoundTripTime: 0.02 }],
      ["L", { type: "local-candidate", candidateType: "prflx" }],
      ["R", { type: "remote-candidate", candidateType: "relay" }],
    ]);
  }
  clock.advance(2_000);
  await until(() => meshes.get("aaa").peers.get("bbb").rttMs !== null, "the stats");
  assert.equal(meshes.get("aaa").peers.get("bbb").path, "turn");
});

test("Chromium's failure (ice 'disconnected', connection 'failed') still restarts ICE", async () => {
  const { meshes, clock } = network(["aaa", "bbb"]);
  await linked(meshes, { aaa: 1, bbb: 1 });
  const pc = FakePeerConnection.all.find((p) => p.channels.length);
  pc.channels[0].readyState = "closing";
  pc.iceConnectionState = "disconnected";
  pc.connectionState = "failed";
  pc.oniceconnectionstatechange?.();
  pc.onconnectionstatechange?.();
  clock.advance(1_000);
  assert.equal(pc.restarts, 1);
});

test("TURN configured but unreachable: no advice to add one; the relay could not be reached", async () => {
  const { meshes } = network(["aaa", "bbb"], {
    iceServers: [{ urls: ["turn:t:3478?transport=udp"], username: "u", credential: "c" }],
  });
  await linked(meshes, { aaa: 1, bbb: 1 });
  for (const pc of FakePeerConnection.all) {
    pc.channels[0].readyState = "closing";
    pc.failIce();
  }
  const problems = [...meshes.values()].flatMap((m) => [...m.peers.values()].map((v) => v.problem));
  assert.deepEqual(problems, [PROBLEMS.relayUnreachable, PROBLEMS.relayUnreachable]);
  for (const problem of problems) {
    assert.doesNotMatch(problem, /add a TURN server/);
    assert.match(problem, /relay server \(TURN\) could not be reached/);
    assert.match(problem, /Chat and files go through the server/);
  }
});

test("TURN configured, nothing connects in time: the relay-timeout words", async () => {
  const { meshes, clock } = network(["aaa", "bbb"], {
    deliver: () => false,
    iceServers: [{ urls: ["turns:t:443?transport=tcp"], username: "u", credential: "c" }],
  });
  clock.advance(15_000);
  assert.equal(meshes.get("aaa").peers.get("bbb").problem, PROBLEMS.relayTimeout);
  assert.equal(meshes.get("bbb").peers.get("aaa").problem, PROBLEMS.relayTimeout);
});

/** Every connection reports one selected pair whose local candidate is of `type`. */
function selectedCandidate(type) {
  for (const pc of FakePeerConnection.all) {
    pc.stats = new Map([
      ["T", { type: "transport", selectedCandidatePairId: "P" }],
      ["P", { type: "candidate-pair", localCandidateId: "L", currentRoundTripTime: 0.01 }],
      ["L", { type: "local-candidate", candidateType: type }],
    ]);
  }
}

const offerer = () => FakePeerConnection.all.find((p) => p.localDescription?.type === "offer");
const answerer = () => FakePeerConnection.all.find((p) => p.localDescription?.type === "answer");

test("upgrade pauses double from the first, up to the cap", () => {
  assert.deepEqual(
    [0, 1, 2].map((n) => upgradeDelay(n, 1_000)),
    [1_000, 2_000, 4_000],
  );
  assert.equal(upgradeDelay(30, UPGRADE_FIRST_MS), UPGRADE_MAX_MS);
});

test("a link on TURN: the impolite side restarts ICE for a direct path, with growing pauses", async () => {
  const { meshes, clock } = network(["aaa", "bbb"]);
  await linked(meshes, { aaa: 1, bbb: 1 });
  selectedCandidate("relay");
  clock.advance(2_000); // the stats poll
  await until(() => meshes.get("bbb").peers.get("aaa").path === "turn", "the TURN path");
  clock.advance(UPGRADE_FIRST_MS);
  assert.equal(offerer().restarts, 1, "the impolite side tried");
  assert.equal(answerer().restarts, 0, "the polite side leaves it to the other");
  await linked(meshes, { aaa: 1, bbb: 1 }); // the channel went on through the restart
  clock.advance(2_000); // still TURN: the next try waits twice as long
  await until(() => meshes.get("bbb")._upgrades.pending("aaa"), "the next try");
  clock.advance(2 * UPGRADE_FIRST_MS - 2_001);
  assert.equal(offerer().restarts, 1);
  clock.advance(2_001);
  assert.equal(offerer().restarts, 2);

  await until(() => clock.timers.size > 0, "the stats poll armed again");
  selectedCandidate("srflx"); // the network let a direct pair through
  clock.advance(2_000);
  await until(() => meshes.get("bbb").peers.get("aaa").path === "direct", "the direct path");
  clock.advance(UPGRADE_MAX_MS);
  assert.equal(offerer().restarts, 2, "on a direct path nothing more is tried");
});

test("a link that spent its ICE restarts starts over with a fresh connection after a pause", async () => {
  const { meshes, clock, log } = network(["aaa", "bbb"]);
  await linked(meshes, { aaa: 1, bbb: 1 });
  const pc = offerer();
  meshes.get("bbb")._links.get("aaa").restarts = MAX_RESTARTS; // restarts spent
  pc.channels[0].readyState = "closing";
  pc.failIce();
  assert.equal(meshes.get("bbb").peers.get("aaa").path, "server", "through the server meanwhile");
  const made = FakePeerConnection.all.length;
  clock.advance(UPGRADE_FIRST_MS - 1);
  assert.equal(FakePeerConnection.all.length, made);
  clock.advance(1);
  assert.equal(FakePeerConnection.all.length, made + 1, "a fresh connection");
  assert.deepEqual(
    log.filter((s) => s.kind === "bye").map((s) => [s.from, s.data.reason]),
    [["bbb", "reset"]],
  );
  await until(() => meshes.get("bbb").peers.get("aaa").path === "direct", "the link back");
  assert.equal(meshes.get("bbb").openCount, 1);
});

test("a chat channel closed before it ever opened (Firefox, ICE failed): the failure words, a fresh link only after a pause", async () => {
  const { meshes, clock, log } = network(["aaa", "bbb"], { deliver: () => false }); // nothing connects
  const b = meshes.get("bbb");
  await until(() => offerer() !== undefined, "the offer");
  const pc = offerer();
  pc.failIce();
  pc.channels[0].readyState = "closed";
  pc.channels[0].onclose();
  const view = b.peers.get("aaa");
  assert.equal(view.problem, PROBLEMS.iceFailed, "not 'connection lost': it never connected");
  assert.equal(view.path, "server");
  const made = FakePeerConnection.all.length;
  clock.advance(5_000); // no fresh link at once, no ICE restart of a link whose channel is gone
  assert.equal(FakePeerConnection.all.length, made);
  assert.equal(pc.restarts, 0);
  assert.deepEqual(
    log.filter((s) => s.kind === "bye"),
    [],
  );
  clock.advance(UPGRADE_FIRST_MS);
  assert.equal(FakePeerConnection.all.length, made + 1, "a fresh connection after the pause");
  assert.equal(b.peers.get("aaa").path, "server", "still through the server meanwhile");
});

import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { HeldSocket } from "../../src/peerlane/web/handover.js";
import { Signaling } from "../../src/peerlane/web/signaling.js";
import { FakeClock, FakeWebSocket, settle } from "./fakes.mjs";

const welcome = {
  type: "welcome",
  v: 1,
  peer_id: "p1",
  participant_id: "me",
  name: "Me",
  role: "owner",
  room_id: "r",
  room_name: "R",
  peers: [],
  latest_seq: 5,
  ice_servers: [],
  read: {},
  limits: {},
};

let clock;
beforeEach(() => {
  FakeWebSocket.instances.length = 0;
  clock = new FakeClock();
});

function make(options = {}) {
  const s = new Signaling("r", {
    url: "ws://test/api/rooms/r/ws",
    WebSocket: FakeWebSocket,
    clock,
    random: () => 0.5,
    environment: null,
    ...options,
  });
  const states = [];
  const received = [];
  s.addEventListener("state", (e) => states.push(e.detail.state));
  s.addEventListener("server", (e) => received.push(e.detail));
  return { s, states, received };
}

/** Open the socket and run hello → welcome → replay → synced. */
function handshake(ws, { replay = [], latest = 5 } = {}) {
  ws.serverOpen();
  ws.serverSend(welcome);
  for (const m of replay) ws.serverSend(m);
  ws.serverSend({ type: "synced", latest_seq: latest });
}

const msg = (seq) => ({
  type: "message",
  seq,
  id: `m${seq}`,
  sender: "a",
  sender_name: "A",
  ts: 1,
  kind: "text",
  ref: null,
  body: "x",
});

test("the URL's hello carries the resume point; states run connecting → syncing → open", () => {
  const { s, states, received } = make({ lastSeq: 3 });
  s.connect();
  const ws = FakeWebSocket.last;
  assert.equal(ws.url, "ws://test/api/rooms/r/ws?v=1&last_seq=3");
  ws.serverOpen();
  assert.deepEqual(ws.sent, [], "no hello frame: it is in the URL");
  assert.equal(s.send({ type: "typing", active: true }), false, "nothing before welcome");
  ws.serverSend(welcome);
  assert.equal(s.state, "syncing");
  ws.serverSend(msg(4));
  ws.serverSend(msg(5));
  ws.serverSend({ type: "synced", latest_seq: 5 });
  assert.deepEqual(states, ["connecting", "syncing", "open"]);
  assert.deepEqual(
    received.map((m) => m.type),
    ["welcome", "message", "message", "synced"],
  );
  assert.equal(s.lastSeq, 5);
  assert.equal(s.send({ type: "typing", active: true }), true);
});

test("a fresh client says hello without last_seq", () => {
  const { s } = make();
  s.connect();
  assert.equal(FakeWebSocket.last.url, "ws://test/api/rooms/r/ws?v=1");
});

test("rewind: connected, asks for a replay after seq; lastSeq follows the replay", () => {
  const { s, received } = make();
  s.connect();
  handshake(FakeWebSocket.last, { latest: 5 });
  assert.equal(s.lastSeq, 5);
  s.rewind(6);
  s.rewind(5);
  assert.equal(FakeWebSocket.last.sent.length, 0, "nothing to replay at or past lastSeq");
  s.rewind(3);
  assert.deepEqual(FakeWebSocket.last.sent.at(-1), { type: "sync", after: 3 });
  assert.equal(s.lastSeq, 3);
  FakeWebSocket.last.serverSend(msg(4));
  assert.equal(s.lastSeq, 4);
  // Dropped before the replay ends: the next hello resumes from what arrived.
  FakeWebSocket.last.serverClose(1001, "restart");
  clock.advance(1_000);
  assert.equal(FakeWebSocket.last.url, "ws://test/api/rooms/r/ws?v=1&last_seq=4");
  assert.ok(received.some((m) => m.type === "message" && m.seq === 4));
});

test("rewind: not connected, the next hello resumes from seq", () => {
  const { s } = make();
  s.connect();
  handshake(FakeWebSocket.last, { latest: 5 });
  FakeWebSocket.last.serverClose(1001, "restart");
  s.rewind(2);
  clock.advance(1_000);
  assert.equal(FakeWebSocket.last.url, "ws://test/api/rooms/r/ws?v=1&last_seq=2");
});

test("reconnects with backoff and resumes from the last contiguous seq", () => {
  const { s, states } = make({ lastSeq: 0 });
  s.connect();
  handshake(FakeWebSocket.last, { replay: [msg(1), msg(2)], latest: 2 });
  FakeWebSocket.last.serverSend(msg(3));
  assert.equal(s.lastSeq, 3);
  FakeWebSocket.last.serverClose(1001, "server shutting down");
  assert.equal(s.state, "waiting");
  // A connection that was live: the first retry goes at once (a restarted server is back soon).
  assert.equal(s.retryAt, clock.now());
  clock.advance(0);
  assert.equal(FakeWebSocket.instances.length, 2);
  assert.equal(FakeWebSocket.last.url, "ws://test/api/rooms/r/ws?v=1&last_seq=3");
  assert.deepEqual(states.slice(-2), ["waiting", "connecting"]);
  // That attempt fails too (the server is not back yet): the backoff takes over.
  // attempt 0: 500 ms base, equal jitter with random 0.5 → 375 ms
  FakeWebSocket.last.serverClose(1006);
  clock.advance(374);
  assert.equal(FakeWebSocket.instances.length, 2);
  clock.advance(1);
  assert.equal(FakeWebSocket.instances.length, 3);
  assert.equal(FakeWebSocket.last.url, "ws://test/api/rooms/r/ws?v=1&last_seq=3");
});

test("the retry at once happens once per longest backoff: a server that welcomes and drops is not hammered", () => {
  const { s } = make();
  s.connect();
  handshake(FakeWebSocket.last);
  FakeWebSocket.last.serverClose(1001);
  assert.equal(s.retryAt, clock.now());
  clock.advance(0);
  handshake(FakeWebSocket.last);
  FakeWebSocket.last.serverClose(1001);
  assert.equal(s.retryAt - clock.now(), 375, "the second drop within 15 s waits the backoff");
  clock.advance(15_000);
  handshake(FakeWebSocket.last);
  FakeWebSocket.last.serverClose(1001);
  assert.equal(s.retryAt, clock.now(), "15 s later: at once again");
});

test("backoff grows to the 15 s cap and resets after a sync", () => {
  const { s } = make();
  s.connect();
  const delays = [];
  for (let i = 0; i < 8; i++) {
    FakeWebSocket.last.serverClose(1006);
    delays.push(s.retryAt - clock.now());
    clock.advance(s.retryAt - clock.now());
  }
  assert.deepEqual(delays, [375, 750, 1500, 3000, 6000, 11250, 11250, 11250]);
  handshake(FakeWebSocket.last);
  assert.equal(s.attempt, 0);
  FakeWebSocket.last.serverClose(1013);
  assert.equal(s.retryAt, clock.now(), "a live connection lost: at once");
  clock.advance(0);
  FakeWebSocket.last.serverClose(1013);
  assert.equal(s.retryAt - clock.now(), 375, "then the backoff from its start");
});

test("jitter spreads clients between half and all of the base delay", () => {
  for (const [random, expected] of [
    [0, 250],
    [0.999999, 500],
  ]) {
    const { s } = make({ random: () => random });
    s.connect();
    FakeWebSocket.last.serverClose(1006);
    assert.ok(Math.abs(s.retryAt - clock.now() - expected) < 0.01);
    s.close();
  }
});

test("keep-alive: ping every 20 s; a missing pong drops the connection within 10 s", () => {
  const { s } = make();
  s.connect();
  const ws = FakeWebSocket.last;
  handshake(ws);
  clock.advance(20_000);
  const ping = ws.sent.at(-1);
  assert.equal(ping.type, "ping");
  ws.serverSend({ type: "pong", nonce: ping.nonce });
  clock.advance(20_000);
  assert.equal(ws.sent.filter((m) => m.type === "ping").length, 2);
  clock.advance(10_000); // no pong this time
  assert.equal(ws.closedWith.code, 4000);
  assert.equal(s.state, "connecting", "reconnecting at once");
  assert.equal(FakeWebSocket.instances.length, 2);
});

test("awaiting acks: ping every 2 s; no pong within 4 s of the first unanswered ping drops the connection", () => {
  const { s } = make();
  s.connect();
  const ws = FakeWebSocket.last;
  handshake(ws);
  s.awaitAcks(true); // a message went out; the server died without a close frame
  const pings = () => ws.sent.filter((m) => m.type === "ping").length;
  clock.advance(2_000);
  assert.equal(pings(), 1);
  clock.advance(2_000);
  assert.equal(pings(), 2, "the next ping does not move the first one's deadline");
  assert.equal(s.state, "open");
  clock.advance(2_000); // 4 s after the first unanswered ping, 6 s after the send
  assert.equal(ws.closedWith.code, 4000);
  assert.equal(FakeWebSocket.instances.length, 2, "reconnecting at once (the caller resends on open)");
});

test("awaiting acks with a live server: answered pings keep it open; done awaiting, back to 20 s", () => {
  const { s } = make();
  s.connect();
  const ws = FakeWebSocket.last;
  handshake(ws);
  s.awaitAcks(true);
  const pings = () => ws.sent.filter((m) => m.type === "ping");
  for (let i = 1; i <= 5; i++) {
    clock.advance(2_000);
    assert.equal(pings().length, i);
    ws.serverSend({ type: "pong", nonce: pings().at(-1).nonce });
  }
  assert.equal(s.state, "open");
  s.awaitAcks(true); // again: changes nothing (the pace is not reset by every send)
  clock.advance(2_000);
  assert.equal(pings().length, 6);
  ws.serverSend({ type: "pong", nonce: pings().at(-1).nonce });
  s.awaitAcks(false);
  clock.advance(19_999);
  assert.equal(pings().length, 6);
  clock.advance(1);
  assert.equal(pings().length, 7);
  clock.advance(9_999); // the usual 10 s for this one's pong
  assert.equal(s.state, "open");
  clock.advance(1);
  assert.equal(ws.closedWith.code, 4000);
  assert.equal(FakeWebSocket.instances.length, 2);
});

test("acks awaited before the connection is up: the fast pings start with the welcome", () => {
  const { s } = make();
  s.awaitAcks(true);
  s.connect();
  const ws = FakeWebSocket.last;
  handshake(ws);
  clock.advance(2_000);
  assert.equal(ws.sent.filter((m) => m.type === "ping").length, 1);
  clock.advance(4_000);
  assert.equal(ws.closedWith.code, 4000);
  assert.equal(FakeWebSocket.instances.length, 2);
});

test("any frame counts as a sign of life", () => {
  const { s } = make();
  s.connect();
  const ws = FakeWebSocket.last;
  handshake(ws);
  clock.advance(20_000);
  clock.advance(9_000);
  ws.serverSend(msg(6));
  clock.advance(2_000);
  assert.equal(s.state, "open");
});

test("no welcome within 10 s: give up and retry", () => {
  const { s } = make();
  s.connect();
  clock.advance(10_000);
  assert.equal(s.state, "waiting");
  assert.equal(FakeWebSocket.instances[0].closedWith.code, 4000);
});

test("a socket error reconnects without waiting for the close event", () => {
  const { s } = make();
  s.connect();
  handshake(FakeWebSocket.last);
  FakeWebSocket.last.onerror({});
  assert.equal(s.state, "waiting");
});

for (const [code, reason] of [
  [4401, "unauthorized"],
  [4403, "removed"],
  [4404, "room_gone"],
  [4400, "unsupported_version"],
]) {
  test(`close ${code} is final (${reason})`, () => {
    const { s, states } = make();
    s.connect();
    FakeWebSocket.last.serverOpen();
    FakeWebSocket.last.serverClose(code);
    assert.equal(s.state, "closed");
    assert.equal(s.closeReason, reason);
    clock.advance(60_000);
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.deepEqual(states, ["connecting", "closed"]);
  });
}

test("close 1008 (abusive) waits the longest backoff", () => {
  const { s } = make();
  s.connect();
  handshake(FakeWebSocket.last);
  FakeWebSocket.last.serverClose(1008);
  assert.equal(s.retryAt - clock.now(), 11_250);
});

test("a socket refused for too many connections (error, then 1013 before welcome) backs off more each time", () => {
  const { s } = make();
  s.connect();
  const delays = [];
  for (let i = 0; i < 4; i++) {
    const ws = FakeWebSocket.last;
    ws.serverOpen();
    ws.serverSend({
      type: "error",
      error: { code: "rate_limited", message: "Too many connections; try again in 5 s." },
      ref: null,
    });
    ws.serverClose(1013, "too many connections; retry later");
    assert.equal(s.state, "waiting");
    delays.push(s.retryAt - clock.now());
    clock.advance(s.retryAt - clock.now());
  }
  assert.deepEqual(delays, [375, 750, 1500, 3000]); // never synced: the backoff keeps growing
});

test("a gap in seqs asks the server to replay (once)", () => {
  const { s } = make({ lastSeq: 5 });
  s.connect();
  const ws = FakeWebSocket.last;
  handshake(ws, { latest: 5 });
  ws.serverSend(msg(8));
  ws.serverSend(msg(9));
  assert.deepEqual(
    ws.sent.filter((m) => m.type === "sync"),
    [{ type: "sync", after: 5 }],
  );
  assert.equal(s.lastSeq, 5);
  ws.serverSend(msg(6));
  ws.serverSend(msg(7));
  ws.serverSend(msg(8));
  ws.serverSend({ type: "synced", latest_seq: 9 });
  assert.equal(s.lastSeq, 9);
  assert.equal(s.state, "open");
});

test("close() stops for good and closes the socket normally", () => {
  const { s } = make();
  s.connect();
  handshake(FakeWebSocket.last);
  s.close();
  assert.equal(s.state, "closed");
  assert.equal(FakeWebSocket.last.closedWith.code, 1000);
  clock.advance(60_000);
  assert.equal(FakeWebSocket.instances.length, 1);
});

test("the browser coming back online skips the wait", () => {
  const env = new EventTarget();
  const { s } = make({ environment: env });
  s.connect();
  FakeWebSocket.last.serverClose(1006);
  clock.advance(100);
  env.dispatchEvent(new Event("online"));
  assert.equal(FakeWebSocket.instances.length, 2);
  assert.equal(s.state, "connecting");
});

test("shown again or resumed after a freeze, a connection waiting to retry tries at once", () => {
  const doc = Object.assign(new EventTarget(), { visibilityState: "hidden" });
  const saved = globalThis.document;
  globalThis.document = doc;
  try {
    const { s } = make();
    s.connect();
    FakeWebSocket.last.serverClose(1006);
    clock.advance(100); // the first retry gone by: the next one is seconds away
    FakeWebSocket.last.serverClose(1006);
    assert.equal(s.state, "waiting");
    const before = FakeWebSocket.instances.length;
    doc.dispatchEvent(new Event("visibilitychange")); // still hidden: nothing
    assert.equal(FakeWebSocket.instances.length, before);
    doc.visibilityState = "visible";
    doc.dispatchEvent(new Event("resume"));
    assert.equal(FakeWebSocket.instances.length, before + 1);
    assert.equal(s.state, "connecting");
    FakeWebSocket.last.serverClose(1006);
    doc.dispatchEvent(new Event("visibilitychange"));
    assert.equal(FakeWebSocket.instances.length, before + 2);
    s.close();
  } finally {
    globalThis.document = saved;
  }
});

test("unknown frames are ignored", () => {
  const { s, received } = make();
  s.connect();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.onmessage({ data: "not json" });
  ws.onmessage({ data: '{"type":"from_the_future"}' });
  assert.equal(received.length, 0);
  assert.equal(s.state, "connecting");
});

test("a socket opened before connect() is taken over: its held events come in order, no second socket", () => {
  const early = new FakeWebSocket("ws://test/api/rooms/r/ws?v=1");
  const held = new HeldSocket(early);
  early.serverOpen();
  early.serverSend(welcome);
  early.serverSend({ type: "signal", sender: "p2", kind: "offer", data: { sdp: "x" } });
  const { s, states, received } = make({ socket: held });
  assert.deepEqual(received, [], "held until taken");
  s.connect();
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.deepEqual(
    received.map((m) => m.type),
    ["welcome", "signal"],
  );
  assert.deepEqual(states, ["connecting", "syncing"]);
  early.serverSend({ type: "synced", latest_seq: 5 });
  assert.equal(s.state, "open");
  assert.equal(s.send({ type: "typing", active: true }), true);
  assert.deepEqual(early.sent, [{ type: "typing", active: true }]);
  // The next connection is a socket of its own, resuming from what arrived.
  early.serverClose(1001, "restart");
  clock.advance(1_000);
  assert.equal(FakeWebSocket.instances.length, 2);
  assert.equal(FakeWebSocket.last.url, "ws://test/api/rooms/r/ws?v=1&last_seq=5");
});

test("a socket that closed before it was taken over is a lost connection; close() closes one never taken", () => {
  const early = new FakeWebSocket("ws://test/api/rooms/r/ws?v=1");
  const held = new HeldSocket(early);
  early.serverClose(4401, "unauthorized");
  const { s } = make({ socket: held });
  s.connect();
  assert.equal(s.state, "closed");
  assert.equal(s.closeReason, "unauthorized");

  const untaken = new FakeWebSocket("ws://test/api/rooms/r/ws?v=1");
  const { s: other } = make({ socket: new HeldSocket(untaken) });
  other.close();
  assert.deepEqual(untaken.closedWith, { code: 1000, reason: "leaving" });
});

test("the welcome's resume token goes with the next hello; a 4409 drops it", () => {
  const { s } = make();
  s.connect();
  const first = FakeWebSocket.last;
  assert.equal(new URL(first.url).searchParams.get("resume"), null, "a first connection resumes nothing");
  first.serverOpen();
  first.serverSend({ ...welcome, resume: "p1.AAAAAAAAAAAAAAAAAAAAAA" });
  first.serverSend({ type: "synced", latest_seq: 5 });
  first.serverClose(1001, "server shutting down");
  clock.advance(0);
  const second = FakeWebSocket.last;
  assert.notEqual(second, first);
  const query = new URL(second.url).searchParams;
  assert.equal(query.get("resume"), "p1.AAAAAAAAAAAAAAAAAAAAAA");
  assert.equal(query.get("last_seq"), "5");
  second.serverOpen();
  second.serverSend({ ...welcome, resume: "p1.BBBBBBBBBBBBBBBBBBBBBB" });
  second.serverSend({ type: "synced", latest_seq: 5 });
  second.serverClose(4409, "replaced by a newer connection");
  clock.advance(20_000);
  const third = FakeWebSocket.last;
  assert.notEqual(third, second);
  assert.equal(new URL(third.url).searchParams.get("resume"), null, "a replaced connection comes back as a new peer");
});

test("while waiting out a backoff, a server that answers /readyz is reconnected to at once", async () => {
  const asked = [];
  let ready = false;
  // Like window.fetch, it refuses to be called as another object's method.
  const fetch = async function (url) {
    if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
    asked.push(url);
    if (!ready) throw new TypeError("connection refused");
    return { ok: true };
  };
  const { s } = make({ readyUrl: "http://test/readyz", fetch, probeEveryMs: 1_000, maxDelayMs: 15_000 });
  s.connect();
  // The server is down: the first attempts fail before any welcome, the backoff grows.
  for (let i = 0; i < 6; i++) {
    FakeWebSocket.last.serverClose(1006, "");
    clock.advance(s.retryAt - clock.now());
  }
  FakeWebSocket.last.serverClose(1006, "");
  assert.ok(s.retryAt - clock.now() > 7_000, "a long backoff ahead");
  const sockets = FakeWebSocket.instances.length;
  clock.advance(1_000);
  await settle();
  assert.equal(FakeWebSocket.instances.length, sockets, "not ready: still waiting");
  assert.ok(asked.length >= 1);
  ready = true; // the server is back
  clock.advance(1_000);
  await settle();
  assert.equal(FakeWebSocket.instances.length, sockets + 1, "reconnected within a second of the server's return");
  assert.equal(s.state, "connecting");
  handshake(FakeWebSocket.last);
  assert.equal(s.state, "open");
  const after = asked.length;
  clock.advance(10_000);
  await settle();
  assert.equal(asked.length, after, "no probing while connected");
});

test("a ready server that refuses the WebSocket gets at most three probed reconnects, then the backoff", async () => {
  const fetch = async () => ({ ok: true });
  // Every backoff is at least 4 s: a socket within 1 s of a loss comes from the probe.
  const { s } = make({ readyUrl: "http://test/readyz", fetch, probeEveryMs: 1_000, minDelayMs: 8_000 });
  s.connect();
  let opened = 0;
  for (let i = 0; i < 8; i++) {
    const before = FakeWebSocket.instances.length;
    FakeWebSocket.last.serverClose(1006, "");
    clock.advance(1_000);
    await settle();
    if (FakeWebSocket.instances.length > before) opened += 1;
    else clock.advance(s.retryAt - clock.now());
  }
  assert.equal(opened, 3, "three probed reconnects, then only the backoff");
});

import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { HOLD_MS, handOverSession, takeSession, takeSocket } from "../../src/peerlane/web/handover.js";
import { FakeClock, FakeWebSocket } from "./fakes.mjs";

globalThis.location ??= /** @type {any} */ ({ protocol: "https:", host: "chat.example" });

const session = (roomId) => ({
  room: { id: roomId, name: "Room" },
  participant: { id: "u1", name: "Ann", role: "member" },
  mesh_limit: 8,
});

let clock;
let env;
beforeEach(() => {
  FakeWebSocket.instances.length = 0;
  clock = new FakeClock();
  env = { WebSocket: FakeWebSocket, timers: clock };
});

test("handing over a session opens the room's socket with the hello in its URL; both are taken once", () => {
  handOverSession(session("r1"), env);
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.equal(FakeWebSocket.last.url, "wss://chat.example/api/rooms/r1/ws?v=1");
  assert.equal(takeSession("r1")?.participant.name, "Ann");
  const held = takeSocket("r1");
  assert.ok(held);
  assert.equal(takeSocket("r1"), null);
  assert.equal(takeSession("r1"), null);
  // Taken: the hold's end leaves it open.
  clock.advance(HOLD_MS);
  assert.equal(FakeWebSocket.last.closedWith, null);
});

test("the held socket keeps its events, in order, until release()", () => {
  handOverSession(session("r2"), env);
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend({ type: "welcome" });
  ws.serverSend({ type: "presence" });
  const held = /** @type {any} */ (takeSocket("r2"));
  const got = [];
  held.onopen = () => got.push("open");
  held.onmessage = (ev) => got.push(JSON.parse(ev.data).type);
  held.onclose = (ev) => got.push(`close ${ev.code}`);
  assert.deepEqual(got, []);
  held.release();
  assert.deepEqual(got, ["open", "welcome", "presence"]);
  ws.serverSend({ type: "signal" });
  ws.serverClose(1001);
  assert.deepEqual(got.slice(3), ["signal", "close 1001"]);
  assert.equal(held.readyState, 3);
});

test("a socket nobody takes is closed after HOLD_MS; a second hand-over replaces the first", () => {
  handOverSession(session("r3"), env);
  const first = FakeWebSocket.last;
  handOverSession(session("r3"), env);
  assert.deepEqual(first.closedWith, { code: 1000, reason: "replaced" });
  const second = FakeWebSocket.last;
  clock.advance(HOLD_MS - 1);
  assert.equal(second.closedWith, null);
  clock.advance(1);
  assert.deepEqual(second.closedWith, { code: 1000, reason: "not taken" });
  assert.equal(takeSocket("r3"), null);
});

test("an answer that is not a valid session opens nothing", () => {
  handOverSession(/** @type {any} */ ({ room: { id: "r4" }, participant: null, mesh_limit: 8 }), env);
  assert.equal(FakeWebSocket.instances.length, 0);
  assert.equal(takeSession("r4"), null);
  assert.equal(takeSocket("r4"), null);
});

// Joining by short code, both browser sides (web/e2e/pake-joiner.js, pake-answer.js,
// pake-handover.js) run against each other through a relay that plays the server's
// /api/join/ws and a member's room socket (docs/protocol.md, "Short codes by PAKE").
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { beforeEach, test } from "node:test";

import { PakeAnswerer } from "../../src/peerlane/web/e2e/pake-answer.js";
import { openHandover, sealHandover } from "../../src/peerlane/web/e2e/pake-handover.js";
import { joinByPake, splitCode, WRONG_CODE } from "../../src/peerlane/web/e2e/pake-joiner.js";
import { b64uEncode, RoomKey } from "../../src/peerlane/web/e2e/scheme.js";
import { FakeWebSocket } from "./fakes.mjs";

const ROOM = "room1";
const INVITE = "inv1";
const JOINER = "joiner1";
const MEMBER = "member1";
const WORDS = "amber-falcon";

/** A map of storage for the answerer's failure counts. */
class MemoryStorage {
  items = new Map();
  getItem(key) {
    return this.items.get(key) ?? null;
  }
  setItem(key, value) {
    this.items.set(key, value);
  }
}

/**
 * The server between a joiner's socket and one member's answerer: relays what each sends.
 * @param {{online?: boolean, words?: string, storage?: MemoryStorage, maxFailures?: number}} [options]
 */
async function relay({ online = true, words = WORDS, storage = new MemoryStorage(), maxFailures } = {}) {
  const keyText = (await RoomKey.generate()).encoded();
  const attempt = b64uEncode(crypto.getRandomValues(new Uint8Array(16)));
  const notes = [];
  const toMember = [];
  /** @type {FakeWebSocket} */
  let ws;
  const answerer = new PakeAnswerer({
    roomId: ROOM,
    me: () => MEMBER,
    keyText: () => keyText,
    wordsFor: async (id) => (id === INVITE ? words : null),
    storage,
    maxFailures,
    onFailure: (note) => notes.push(note),
    send: (msg) => {
      toMember.push(msg.type);
      if (msg.type === "pake.reply") ws.serverSend(msg);
      else if (msg.type === "pake.reject") {
        ws.serverSend({
          type: "pake.failed",
          attempt,
          error: { code: "code_mismatch", message: "That code is not right." },
        });
        ws.serverClose(1000);
      } else {
        const admitted = { ...msg, type: "pake.admitted", room_id: ROOM, participant_id: JOINER };
        ws.serverSend({ ...admitted, token: "bearer-token", session_expires_at: 99 });
        ws.serverClose(1000);
      }
    },
  });
  const start = () => ws.serverSend({ type: "pake.start", attempt, invite: INVITE, joiner: JOINER, member: MEMBER });
  class RelaySocket extends FakeWebSocket {
    constructor(url) {
      super(url);
      ws = this;
      queueMicrotask(() => this.serverOpen());
    }
    send(data) {
      super.send(data);
      const msg = JSON.parse(data);
      if (msg.type === "pake.open") {
        assert.deepEqual(msg, { type: "pake.open", nameplate: 7, display_name: "Bob" });
        if (online) start();
        else ws.serverSend({ type: "pake.waiting", attempt });
      } else if (msg.type === "pake.share") {
        void answerer.handle({ type: "pake.share", attempt, invite: INVITE, joiner: JOINER, share: msg.share });
      } else if (msg.type === "pake.confirm" || msg.type === "pake.abort") {
        void answerer.handle({ ...msg, attempt });
        if (msg.type === "pake.abort") ws.serverClose(1000);
      }
    }
  }
  return { keyText, answerer, notes, toMember, start, Socket: RelaySocket, storage };
}

/** @param {Awaited<ReturnType<typeof relay>>} r @param {string} code @param {object} [extra] */
function join(r, code, extra = {}) {
  return joinByPake({ code, displayName: "Bob", WebSocket: r.Socket, url: "ws://x/api/join/ws", ...extra });
}

beforeEach(() => {
  FakeWebSocket.instances.length = 0;
});

test("the right words: the member admits and the joiner opens the room key", async () => {
  const r = await relay();
  const admission = await join(r, "7-Amber Falcon");
  assert.deepEqual(admission, {
    roomId: ROOM,
    participantId: JOINER,
    token: "bearer-token",
    sessionExpiresAt: 99,
    keyText: r.keyText,
  });
  assert.deepEqual(r.toMember, ["pake.reply", "pake.admit"]);
  assert.equal(r.answerer.failures(INVITE), 0);
});

test("wrong words: the joiner says the code is not right and the member counts a failure", async () => {
  const r = await relay();
  await assert.rejects(join(r, "7-amber-eagle"), (err) => err.code === "code_mismatch" && err.message === WRONG_CODE);
  await r.answerer.queue;
  assert.deepEqual(r.toMember, ["pake.reply"]);
  assert.equal(r.answerer.failures(INVITE), 1);
  assert.deepEqual(r.notes, [{ inviteId: INVITE, count: 1, max: 100, stopped: false }]);
  const last = FakeWebSocket.last.sent.at(-1);
  assert.equal(last.type, "pake.abort");
});

test("no member online: the joiner is told, then joins when one comes", async () => {
  const r = await relay({ online: false });
  const said = [];
  const joined = join(r, "7-amber-falcon", {
    onWaiting: () => said.push("waiting"),
    onStarted: () => said.push("started"),
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(said, ["waiting"]);
  r.start();
  assert.equal((await joined).keyText, r.keyText);
  assert.deepEqual(said, ["waiting", "started"]);
});

test("after MAX failures a member no longer answers that code, and says so", async () => {
  const storage = new MemoryStorage();
  const first = await relay({ storage, maxFailures: 2 });
  await assert.rejects(join(first, "7-wrong-words"));
  await first.answerer.queue;
  const second = await relay({ storage, maxFailures: 2 });
  await assert.rejects(join(second, "7-wrong-again"));
  await second.answerer.queue;
  assert.equal(second.answerer.failures(INVITE), 2); // kept across pages (storage)
  const third = await relay({ storage, maxFailures: 2 });
  // Even the right words are refused now: the member does not run the PAKE at all.
  await assert.rejects(join(third, "7-amber-falcon"), (err) => err.code === "code_mismatch");
  await third.answerer.queue;
  assert.deepEqual(third.toMember, ["pake.reject"]);
  assert.equal(third.notes.at(-1).stopped, true);
});

test("a member without the words rejects rather than guess", async () => {
  const r = await relay({ words: "" });
  await assert.rejects(join(r, "7-amber-falcon"), (err) => err.code === "code_mismatch");
  assert.deepEqual(r.toMember, ["pake.reject"]);
});

test("a code not shaped like one is refused before any socket", async () => {
  await assert.rejects(joinByPake({ code: "amber-falcon", displayName: "Bob" }), (err) => err.status === 422);
  assert.deepEqual(splitCode(" 12-amber falcon "), { nameplate: 12, words: "amber falcon " });
  assert.equal(splitCode("12"), null);
});

test("a hand-over opens only for its room and joiner, under its key", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const roomKey = (await RoomKey.generate()).encoded();
  const sealed = await sealHandover(key, roomKey, { roomId: ROOM, joinerId: JOINER });
  assert.match(sealed, /^h1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{64}$/);
  assert.equal(await openHandover(key, sealed, { roomId: ROOM, joinerId: JOINER }), roomKey);
  const other = crypto.getRandomValues(new Uint8Array(32));
  for (const [k, context] of [
    [key, { roomId: "room2", joinerId: JOINER }],
    [key, { roomId: ROOM, joinerId: "someone" }],
    [other, { roomId: ROOM, joinerId: JOINER }],
  ]) {
    await assert.rejects(openHandover(k, sealed, context), (err) => err.code === "auth_failed");
  }
  await assert.rejects(
    openHandover(key, `h2${sealed.slice(2)}`, { roomId: ROOM, joinerId: JOINER }),
    (err) => err.code === "unsupported_version",
  );
  await assert.rejects(
    openHandover(key, "h1.x", { roomId: ROOM, joinerId: JOINER }),
    (err) => err.code === "malformed",
  );
});

test("the hand-over vector Python checks too (tests/vectors/pake-handover.json)", async () => {
  const V = JSON.parse(readFileSync(new URL("../vectors/pake-handover.json", import.meta.url), "utf8"));
  const key = Uint8Array.from(Buffer.from(V.handover_key_hex, "hex"));
  const nonce = Uint8Array.from(Buffer.from(V.nonce_hex, "hex"));
  const context = { roomId: V.room_id, joinerId: V.joiner_id };
  assert.equal(await sealHandover(key, V.room_key, context, nonce), V.handover);
  assert.equal(await openHandover(key, V.handover, context), V.room_key);
});

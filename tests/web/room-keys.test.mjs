// The room keys on the way into a room (e2e/room-keys.js, handover.js, room-crypto.js
// forRoom): the room page waits for this device's kept keys before it starts the room,
// so they are read once, ahead, as the join is answered -- before the link's key is
// written, so the read never queues behind that write -- and each key is decoded once.
// IndexedDB is a recording fake: every request is logged in the order it is made.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RoomCrypto } from "../../src/peerlane/web/e2e/room-crypto.js";
import { readKeysAhead, roomKeyring, saveRoomKeys } from "../../src/peerlane/web/e2e/room-keys.js";
import { RoomKey } from "../../src/peerlane/web/e2e/scheme.js";
import { handOverSession } from "../../src/peerlane/web/handover.js";
import { FakeClock, FakeWebSocket } from "./fakes.mjs";

/** A minimal IndexedDB: one database, object stores keyed by keyPath, answers on a later task. */
class RecordingIndexedDB {
  constructor() {
    /** @type {string[]} */
    this.log = [];
    /** @type {Map<string, any>} */
    this.rows = new Map();
    this.created = false;
    /** @type {{what: string, resolve: () => void}[]} */
    this.waiting = [];
  }

  /** Resolves once a request of this kind has been answered. @param {string} what */
  answered(what) {
    return new Promise((resolve) => this.waiting.push({ what, resolve }));
  }

  /** @param {string} what @param {() => any} answer */
  request(what, answer) {
    this.log.push(what);
    const req = { result: undefined, error: null, onsuccess: null, onerror: null, onupgradeneeded: null };
    setTimeout(() => {
      req.result = answer();
      req.onsuccess?.();
      for (const w of this.waiting.filter((w) => w.what === what)) w.resolve();
      this.waiting = this.waiting.filter((w) => w.what !== what);
    }, 0);
    return req;
  }

  open() {
    const db = {
      createObjectStore: () => {
        this.created = true;
      },
      transaction: (_store, mode) => ({
        objectStore: () => ({
          get: (key) => this.request(`get ${mode}`, () => structuredClone(this.rows.get(key))),
          put: (row) =>
            this.request(`put ${mode}`, () => {
              this.rows.set(row.room_id, structuredClone(row));
            }),
        }),
      }),
    };
    this.log.push("open");
    const req = { result: db, error: null, onsuccess: null, onerror: null, onupgradeneeded: null };
    setTimeout(() => {
      if (!this.created) req.onupgradeneeded?.();
      req.onsuccess?.();
    }, 0);
    return req;
  }
}

const idb = new RecordingIndexedDB();
globalThis.indexedDB = /** @type {any} */ (idb);

const session = (roomId) => ({
  room: { id: roomId, name: "sealed" },
  participant: { id: "u1", name: "Ann", role: "member" },
  mesh_limit: 8,
});

test("a link's join reads the kept keys ahead, before the link's key is written; the room page reads no more", async () => {
  const linkKey = (await RoomKey.generate()).encoded();
  globalThis.location = /** @type {any} */ ({
    protocol: "https:",
    host: "x",
    pathname: "/join",
    hash: `#tok.${linkKey}`,
  });
  idb.log.length = 0;
  const written = idb.answered("put readwrite");
  handOverSession(session("r1"), { WebSocket: FakeWebSocket, timers: new FakeClock() });
  await written;
  // Issued when the join was answered: the read ahead, the save's own read, its write.
  assert.deepEqual(idb.log, ["open", "get readonly", "get readonly", "put readwrite"]);
  // What the room page does before it starts the room: no request of its own.
  const ring = await roomKeyring("r1");
  assert.equal(ring.current, linkKey);
  assert.equal(idb.log.length, 4);
  // Taken once: a room page opened again reads anew (and finds the key written).
  const again = await roomKeyring("r1");
  assert.equal(idb.log.length, 5);
  assert.deepEqual(again.kept, [{ secret: linkKey, epoch: 0 }]);
});

test("the keyring's current key is a rotation's newer one over the link's, else the link's", async () => {
  const linkKey = (await RoomKey.generate()).encoded();
  const rotated = (await RoomKey.generate(3)).encoded();
  globalThis.location = /** @type {any} */ ({
    protocol: "https:",
    host: "x",
    pathname: "/join",
    hash: `#tok.${linkKey}`,
  });
  await saveRoomKeys("r2", [{ secret: rotated, epoch: 3 }]);
  handOverSession(session("r2"), { WebSocket: FakeWebSocket, timers: new FakeClock() });
  const ring = await roomKeyring("r2");
  assert.equal(ring.current, rotated);
  readKeysAhead("r3"); // nothing kept for r3, and no key held
  assert.deepEqual(await roomKeyring("r3"), { current: null, kept: [] });
});

test("forRoom decodes each key once, the current one with the epoch it was kept under", async () => {
  const current = await RoomKey.generate();
  const older = await RoomKey.generate(1);
  const newest = await RoomKey.generate(2);
  const kept = [
    { secret: older.encoded(), epoch: 1 },
    { secret: newest.encoded(), epoch: 2 },
    { secret: "damaged", epoch: 4 },
  ];
  const made = await RoomCrypto.forRoom("r4", { current: newest.encoded(), kept });
  assert.equal(made.key?.kid, newest.kid);
  assert.equal(made.key?.epoch, 2);
  assert.deepEqual([...made.keys.keys()].sort(), [older.kid, newest.kid].sort());
  assert.equal(made.keyOfEpoch(1)?.kid, older.kid);
  // A damaged current key: the kept keys still open what they sealed.
  const fallback = await RoomCrypto.forRoom("r4", { current: "damaged", kept: kept.slice(0, 1) });
  assert.equal(fallback.key?.kid, older.kid);
  const plain = await RoomCrypto.forRoom("r5", { current: null, kept: [] });
  assert.equal(plain.encrypted, false);
  assert.notEqual(current.kid, newest.kid);
});

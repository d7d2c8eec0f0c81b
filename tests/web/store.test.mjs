import assert from "node:assert/strict";
import { test } from "node:test";

import { formatHlc } from "../../src/peerlane/web/hlc.js";
import { loadName, memoryStore, outboxAdd, outboxList, outboxRemove, saveName } from "../../src/peerlane/web/store.js";

const item = (id, room, wall) => ({
  id,
  room_id: room,
  hlc: formatHlc(wall, 0, "me"),
  sender: "me",
  sender_name: "Me",
  kind: "text",
  ref: null,
  body: id,
  created_at: wall,
});

for (const [name, store] of [
  ["memoryStore", memoryStore()],
  ["module (no IndexedDB: memory fallback)", { outboxAdd, outboxRemove, outboxList }],
]) {
  test(`${name}: per room, in HLC order, removable`, async () => {
    await store.outboxAdd(item("b", "r1", 2));
    await store.outboxAdd(item("a", "r1", 1));
    await store.outboxAdd(item("c", "r2", 3));
    assert.deepEqual(
      (await store.outboxList("r1")).map((i) => i.id),
      ["a", "b"],
    );
    await store.outboxRemove("a");
    assert.deepEqual(
      (await store.outboxList("r1")).map((i) => i.id),
      ["b"],
    );
    assert.deepEqual(
      (await store.outboxList("r2")).map((i) => i.id),
      ["c"],
    );
    await store.outboxAdd(item("b", "r1", 2)); // put: same id replaces
    assert.equal((await store.outboxList("r1")).length, 1);
  });
}

test("the name is remembered in localStorage", () => {
  const data = new Map();
  globalThis.localStorage = { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => data.set(k, v) };
  try {
    assert.equal(loadName(), "");
    saveName("  Ada ");
    assert.equal(loadName(), "Ada");
  } finally {
    delete globalThis.localStorage;
  }
});

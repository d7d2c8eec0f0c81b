// Browser-made code words (src/peerlane/web/e2e/code-words.js): the same lists as the
// server's core/words.py, words drawn in their shape, sealed words bound to room and invite.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ADJECTIVES, drawWords, NOUNS, openCodeWords, sealCodeWords } from "../../src/peerlane/web/e2e/code-words.js";
import { RoomKey } from "../../src/peerlane/web/e2e/scheme.js";

const python = readFileSync(new URL("../../src/peerlane/core/words.py", import.meta.url), "utf8");
const lists = [...python.matchAll(/tuple\(\s*"""([^"]*)"""/g)].map((m) => m[1].trim().split(/\s+/));

test("the word lists are core/words.py's", () => {
  assert.equal(lists.length, 2);
  assert.deepEqual(ADJECTIVES, lists[0]);
  assert.deepEqual(NOUNS, lists[1]);
});

test("drawn words are an adjective and a noun, and differ from draw to draw", () => {
  const drawn = new Set(Array.from({ length: 20 }, () => drawWords()));
  for (const words of drawn) {
    const [adjective, noun] = words.split("-");
    assert.ok(ADJECTIVES.includes(adjective) && NOUNS.includes(noun), words);
  }
  assert.ok(drawn.size > 10);
  assert.equal(drawWords(4).split("-").length, 4);
});

test("sealed words open for their room and invite only", async () => {
  const key = await RoomKey.generate();
  const sealed = await sealCodeWords(key, "room1", "inv1", "amber-falcon");
  assert.match(sealed, /^e2e1\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,200}$/);
  assert.equal(await openCodeWords(key, sealed, "room1", "inv1"), "amber-falcon");
  await assert.rejects(openCodeWords(key, sealed, "room1", "inv2"), { code: "auth_failed" });
  await assert.rejects(openCodeWords(key, sealed, "room2", "inv1"), { code: "auth_failed" });
  await assert.rejects(openCodeWords(await RoomKey.generate(), sealed, "room1", "inv1"), { code: "wrong_key" });
});

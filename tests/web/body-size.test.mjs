// The composer's length note (body-size.js): counts a text as the server counts a chat
// body (UTF-8 bytes of compact JSON), warns near max_body_bytes, refuses over it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { bodyBytes, lengthNote, sizeWords } from "../../src/peerlane/web/body-size.js";

test("a body counts as the server counts it: UTF-8 bytes of its compact JSON", () => {
  assert.equal(bodyBytes("abc"), 5, "quotes count");
  assert.equal(bodyBytes("é"), 4);
  assert.equal(bodyBytes("😀"), 6);
  assert.equal(bodyBytes('a"b\n'), 8, "escapes count");
  assert.equal(bodyBytes("\u0001"), 8, "a control character is a six-byte escape");
});

test("no note before the limit is known, or far below it", () => {
  assert.equal(lengthNote("x".repeat(200_000), Infinity).level, "ok");
  assert.deepEqual(lengthNote("hello", 16_384), { level: "ok", bytes: 0, text: "" });
  assert.equal(lengthNote("x".repeat(14_000), 16_384).level, "ok");
});

test("near the limit it says how much room is left, in plain words", () => {
  const note = lengthNote("x".repeat(16_000), 16_384); // 16,002 bytes
  assert.equal(note.level, "near");
  assert.equal(note.bytes, 16_002);
  assert.equal(note.text, "Nearly too long: room for about 382 more letters.");
  assert.equal(lengthNote("x".repeat(16_382), 16_384).level, "near", "exactly at the limit may be sent");
});

test("over the limit it refuses and offers a file, counting multi-byte text and escapes", () => {
  const note = lengthNote("x".repeat(200_000), 16_384);
  assert.equal(note.level, "over");
  assert.equal(note.text, "Too long for one message (195 KB; at most 16 KB). Shorten it, or send it as a file.");
  assert.equal(lengthNote("x".repeat(16_383), 16_384).level, "over", "the quotes tip it over");
  assert.equal(lengthNote("é".repeat(8_192), 16_384).level, "over", "8,192 characters but 16,386 bytes");
  assert.equal(lengthNote("\u0001".repeat(2_800), 16_384).level, "over", "2,800 characters but 16,802 bytes");
});

test("sizes in plain words", () => {
  assert.equal(sizeWords(1), "1 byte");
  assert.equal(sizeWords(900), "900 bytes");
  assert.equal(sizeWords(16_384), "16 KB");
  assert.equal(sizeWords(1_572_864), "1.5 MB");
});

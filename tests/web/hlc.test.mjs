import assert from "node:assert/strict";
import { test } from "node:test";

import { compareHlc, formatHlc, Hlc, parseHlc } from "../../src/peerlane/web/hlc.js";

const frozen = (t) => ({ now: () => t.value });

test("format: 15-digit wall ms, 5-digit counter, node id; parse reverses it", () => {
  const ts = formatHlc(1_700_000_000_123, 7, "alice");
  assert.equal(ts, "001700000000123" + "00007" + "alice");
  assert.deepEqual(parseHlc(ts), { wall: 1_700_000_000_123, counter: 7, node: "alice" });
  assert.equal(parseHlc("nonsense"), null);
  assert.equal(parseHlc(42), null);
});

test("string order is clock order", () => {
  const stamps = [
    formatHlc(999, 0, "b"),
    formatHlc(1000, 0, "a"),
    formatHlc(1000, 1, "a"),
    formatHlc(1000, 1, "b"),
    formatHlc(10_000, 0, "a"),
    formatHlc(10_000, 2, "a"),
  ];
  const shuffled = [...stamps].reverse();
  assert.deepEqual(shuffled.sort(), stamps);
  assert.deepEqual([...stamps].reverse().sort(compareHlc), stamps);
  assert.equal(compareHlc(stamps[0], stamps[0]), 0);
});

test("now() is strictly increasing, even when the wall clock stands still or goes back", () => {
  const t = { value: 5_000 };
  const clock = new Hlc("n", frozen(t));
  const a = clock.now();
  const b = clock.now();
  t.value = 4_000; // the wall clock went backwards
  const c = clock.now();
  t.value = 6_000;
  const d = clock.now();
  assert.ok(a < b && b < c && c < d, [a, b, c, d].join(" "));
  assert.deepEqual(parseHlc(c), { wall: 5_000, counter: 2, node: "n" });
  assert.deepEqual(parseHlc(d), { wall: 6_000, counter: 0, node: "n" });
});

test("receive() moves past a remote timestamp ahead of us", () => {
  const t = { value: 1_000 };
  const clock = new Hlc("me", frozen(t));
  const remote = formatHlc(3_000, 4, "peer");
  const merged = clock.receive(remote);
  assert.ok(merged > remote);
  assert.deepEqual(parseHlc(merged), { wall: 3_000, counter: 5, node: "me" });
  assert.ok(clock.now() > merged);
});

test("receive() of an older timestamp still ticks the local clock", () => {
  const t = { value: 10_000 };
  const clock = new Hlc("me", frozen(t));
  const before = clock.now();
  const after = clock.receive(formatHlc(1, 0, "peer"));
  assert.ok(after > before);
});

test("a remote clock far in the future is not adopted", () => {
  const t = { value: 10_000 };
  const clock = new Hlc("me", { ...frozen(t), maxDriftMs: 60_000 });
  const merged = clock.receive(formatHlc(10_000 + 3_600_000, 0, "liar"));
  assert.equal(parseHlc(merged).wall, 10_000);
  assert.equal(parseHlc(clock.receive("garbage")).wall, 10_000);
});

test("counter overflow borrows the next millisecond", () => {
  const t = { value: 7 };
  const clock = new Hlc("n", frozen(t));
  clock.now();
  clock.counter = 99_999;
  const next = clock.now();
  assert.deepEqual(parseHlc(next), { wall: 8, counter: 0, node: "n" });
  assert.equal(next.length, 20 + 1);
});

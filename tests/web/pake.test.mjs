// The browser's CPace (web/e2e/pake.js) against the draft's ristretto255 vectors, which
// tests/core/test_core_pake.py checks the Python side against too; interop between the
// two is tests/web/test_pake_interop.py.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  calculateGenerator,
  generatorString,
  IDENTITY,
  intermediateSessionKey,
  JoinerPake,
  lvCat,
  MemberPake,
  PakeFailed,
  prependLen,
  sampleScalar,
  scalarMult,
  transcriptIr,
} from "../../src/peerlane/web/e2e/pake.js";

const V = JSON.parse(readFileSync(new URL("../vectors/cpace-ristretto255.json", import.meta.url), "utf8"));
/** @param {string} hex */
const b = (hex) => Uint8Array.from(Buffer.from(hex, "hex"));
/** @param {Uint8Array} bytes */
const hex = (bytes) => Buffer.from(bytes).toString("hex");
/** @param {string} name */
const v = (name) => b(V[name]);

describe("CPace vectors (draft-irtf-cfrg-cpace, ristretto255 + SHA-512)", () => {
  test("prepend_len, lv_cat, transcript_ir", () => {
    for (const c of V.prepend_len) {
      if ("range" in c) {
        const data = Uint8Array.from({ length: c.range }, (_, i) => i);
        assert.equal(hex(prependLen(data)), c.prefix + hex(data));
      } else {
        assert.equal(hex(prependLen(b(c.data))), c.out);
      }
    }
    assert.equal(hex(prependLen(new Uint8Array(300)).subarray(0, 2)), "ac02");
    assert.equal(hex(lvCat(...V.lv_cat.parts.map(b))), V.lv_cat.out);
    for (const c of V.transcript_ir) assert.equal(hex(transcriptIr(b(c.ya), b(c.ada), b(c.yb), b(c.adb))), c.out);
  });

  test("generator", () => {
    assert.equal(hex(generatorString(v("prs"), v("ci"), v("sid"))), V.generator_string);
    assert.equal(hex(calculateGenerator(v("prs"), v("ci"), v("sid")).toBytes()), V.g);
  });

  test("shares, K and ISK", () => {
    const ya = scalarMult(v("ya"), v("g"));
    const yb = scalarMult(v("yb"), v("g"));
    assert.equal(hex(ya), V.Ya);
    assert.equal(hex(yb), V.Yb);
    assert.equal(hex(scalarMult(v("ya"), yb)), V.K);
    assert.equal(hex(scalarMult(v("yb"), ya)), V.K);
    const transcript = transcriptIr(ya, v("ada"), yb, v("adb"));
    assert.equal(hex(transcript), V.transcript_ir_out);
    assert.equal(hex(intermediateSessionKey(v("sid"), v("K"), transcript)), V.ISK_IR);
  });

  test("scalar_mult_vfy", () => {
    const { s, X, out } = V.scalar_mult_valid;
    assert.equal(hex(scalarMult(b(s), b(X))), out);
    for (const bad of V.scalar_mult_invalid) assert.deepEqual(scalarMult(b(s), b(bad)), IDENTITY);
    assert.deepEqual(scalarMult(b(s), new Uint8Array(5)), IDENTITY);
  });

  test("sampled scalars are below the group order", () => {
    const order = 2n ** 252n + 27742317777372353535851937790883648493n;
    for (let i = 0; i < 50; i++) {
      const n = BigInt(`0x${hex(sampleScalar().reverse()) || "0"}`);
      assert.ok(n > 0n && n < order);
    }
  });
});

describe("joiner and member", () => {
  const channel = { inviteId: "inv-1", joinerId: "joiner", memberId: "member", sid: new Uint8Array(16).fill(115) };

  test("right words: both sides get the same keys", () => {
    const joiner = new JoinerPake("Amber Falcon", channel);
    const member = new MemberPake("amber-falcon", channel);
    const { confirm, keys } = joiner.finish(member.share, member.respond(joiner.share));
    assert.deepEqual(member.confirm(confirm), keys);
    assert.equal(keys.isk.length, 64);
    assert.equal(keys.handoverKey.length, 32);
  });

  test("wrong words fail on both sides", () => {
    const joiner = new JoinerPake("amber-falcon", channel);
    const member = new MemberPake("amber-falcons", channel);
    const memberConfirm = member.respond(joiner.share);
    assert.throws(() => joiner.finish(member.share, memberConfirm), PakeFailed);
    assert.throws(() => member.confirm(new Uint8Array(64)), /does not match/);
  });

  test("a different channel fails; invalid shares abort", () => {
    const joiner = new JoinerPake("amber-falcon", channel);
    const member = new MemberPake("amber-falcon", { ...channel, memberId: "someone-else" });
    assert.throws(() => joiner.finish(member.share, member.respond(joiner.share)), /does not match/);
    assert.throws(() => new MemberPake("amber-falcon", channel).respond(IDENTITY), /valid group element/);
    assert.throws(() => new MemberPake("amber-falcon", channel).confirm(new Uint8Array(64)), /no share/);
  });
});

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";

import {
  BLOCK_SIZE,
  blockCount,
  blockLength,
  fromHex,
  hashBlock,
  hashFile,
  isRoot,
  rootOf,
  sha256Js,
  toBase64,
  toHex,
} from "../../src/peerlane/web/integrity.js";

// The published test vector (docs/protocol.md → "Files → Integrity"), as
// peerlane.core.integrity computes it.
const VECTOR = {
  size: 2 * BLOCK_SIZE + BLOCK_SIZE / 2,
  blocks: [
    "1c59b8670027384143781a8a8bff2f3b44bd8818d0f53b13b064c2375a1afe38",
    "d50d98efacff4cc59dedce2c1b0add120d2c6264418cc699883fa1fd389ac7a9",
    "1447f357acdcb902cdbec4063c62e72fedab69627d838ed546678f766e79f5e7",
  ],
  root: "933018179a539dfcd9b82a0799438882080b97dfc7afc0743e68e0667cac5ada",
};
const EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const PYTHON = new URL("../../.venv/bin/python", import.meta.url).pathname;

/** byte i is (31 i + 7) mod 251, like peerlane.core.integrity.pattern() */
function pattern(size) {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) % 251;
  return out;
}

describe("integrity", () => {
  test("the published test vector: block hashes and root", async () => {
    const result = await hashFile(new Blob([pattern(VECTOR.size)]));
    assert.deepEqual(result.blocks, VECTOR.blocks);
    assert.equal(result.root, VECTOR.root);
  });

  test("the same root as peerlane/core/integrity.py computes now", {
    skip: !existsSync(PYTHON) && "no .venv",
  }, async () => {
    const script = [
      "from peerlane.core import integrity as i",
      "for n in (0, 1, i.BLOCK_SIZE, i.BLOCK_SIZE + 1, i.TEST_VECTOR_SIZE): print(n, i.root_of_bytes(i.pattern(n)))",
    ].join("\n");
    const lines = execFileSync(PYTHON, ["-c", script], { encoding: "utf8" }).trim().split("\n");
    assert.equal(lines.length, 5);
    for (const line of lines) {
      const [n, root] = line.split(" ");
      assert.equal((await hashFile(new Blob([pattern(Number(n))]))).root, root, `size ${n}`);
    }
  });

  test("an empty file has no blocks; its root is SHA-256 of nothing", async () => {
    assert.deepEqual(await hashFile(new Blob([])), { root: EMPTY_ROOT, blocks: [] });
    assert.equal(await rootOf([]), EMPTY_ROOT);
  });

  test("a file of exactly n MiB has n blocks, no empty last block", async () => {
    const { blocks } = await hashFile(new Blob([pattern(2 * BLOCK_SIZE)]));
    assert.equal(blocks.length, 2);
    assert.equal(blockCount(2 * BLOCK_SIZE), 2);
    assert.equal(blockCount(2 * BLOCK_SIZE + 1), 3);
    assert.equal(blockLength(2 * BLOCK_SIZE + 1, 2), 1);
    assert.equal(blockLength(2 * BLOCK_SIZE, 1), BLOCK_SIZE);
  });

  test("the root hashes the raw 32-byte block hashes, not their hex", async () => {
    const raw = Buffer.concat(VECTOR.blocks.map((h) => Buffer.from(h, "hex")));
    assert.equal(createHash("sha256").update(raw).digest("hex"), VECTOR.root);
    assert.equal(await rootOf(VECTOR.blocks), VECTOR.root);
  });

  test("hashFile reports progress block by block", async () => {
    const seen = [];
    await hashFile(new Blob([pattern(VECTOR.size)]), (done) => seen.push(done));
    assert.deepEqual(seen, [BLOCK_SIZE, 2 * BLOCK_SIZE, VECTOR.size]);
  });

  test("the plain-JS SHA-256 (insecure contexts) agrees with node's", () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 4096 + 17]) {
      const bytes = randomBytes(n);
      assert.equal(
        toHex(sha256Js(new Uint8Array(bytes))),
        createHash("sha256").update(bytes).digest("hex"),
        `length ${n}`,
      );
    }
    assert.equal(toHex(sha256Js(pattern(BLOCK_SIZE))), VECTOR.blocks[0]);
  });

  test("hex and base64 helpers", async () => {
    assert.equal(toHex(fromHex("00ff10")), "00ff10");
    assert.throws(() => fromHex("ABC"));
    assert.equal(toBase64(new Uint8Array([104, 105])), "aGk=");
    assert.equal(await hashBlock(new Uint8Array(0)), EMPTY_ROOT);
    assert.ok(isRoot(VECTOR.root));
    assert.ok(!isRoot(VECTOR.root.toUpperCase()));
    assert.ok(!isRoot(null));
  });
});

// The WebCrypto implementation of end-to-end encrypted files (web/e2e/file-crypto.js)
// against the vectors Python made (tests/vectors/e2e.json "files", peerlane.core.e2e_file):
// the same sealed blocks and metadata from the same inputs, and every failure typed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  BLOCK_SIZE,
  blockAad,
  blockCount,
  blockNonce,
  FileKey,
  openBlock,
  openFileMetadata,
  plainSize,
  sealBlock,
  sealedBlockSpan,
  sealedSize,
  sealFileMetadata,
} from "../../src/peerlane/web/e2e/file-crypto.js";
import { b64uDecode, E2EError, fromHex, hkdf, toHex } from "../../src/peerlane/web/e2e/scheme.js";

const FILES = JSON.parse(readFileSync(new URL("../vectors/e2e.json", import.meta.url), "utf-8")).files;

/** integrity.pattern(size): byte i is (31 i + 7) % 251. @param {number} size */
function pattern(size) {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) % 251);
}

async function codeOf(operation) {
  try {
    await operation();
    return "ok";
  } catch (error) {
    assert.ok(error instanceof E2EError, `not an E2EError: ${error}`);
    return error.code;
  }
}

describe("e2e files: the vectors", () => {
  test("file keys", async () => {
    for (const c of FILES.keys) {
      const key = await FileKey.decode(c.secret);
      assert.equal(key.encoded(), c.secret);
      assert.equal(key.kid, c.kid);
      assert.equal(toHex(await hkdf(key.secret, "peerlane e2e v1 file block")), c.block_key);
      assert.equal(toHex(await hkdf(key.secret, "peerlane e2e v1 file metadata")), c.metadata_key);
    }
  });

  test("sizes", () => {
    for (const c of FILES.sizes) {
      assert.equal(blockCount(c.size), c.blocks);
      assert.equal(sealedSize(c.size), c.sealed);
      assert.equal(plainSize(c.sealed), c.size);
    }
  });

  test("blocks: the same sealed bytes, and each opens on its own", async () => {
    const files = new Map();
    for (const c of FILES.blocks) {
      if (!files.has(c.size)) files.set(c.size, pattern(c.size));
      const plain = files.get(c.size).subarray(c.index * BLOCK_SIZE, (c.index + 1) * BLOCK_SIZE);
      const key = await FileKey.decode(c.key);
      assert.equal(toHex(blockNonce(c.index)), c.nonce);
      assert.equal(toHex(blockAad(c.index, c.count)), c.aad);
      assert.deepEqual(sealedBlockSpan(c.index, c.size), { offset: c.offset, length: c.length });
      const sealed = await sealBlock(key, c.index, c.count, plain);
      assert.equal(createHash("sha256").update(sealed).digest("hex"), c.sealed_sha256);
      assert.equal(toHex(sealed.subarray(-16)), c.tag);
      if (c.sealed) assert.equal(toHex(sealed), c.sealed);
      assert.deepEqual(await openBlock(key, c.index, c.count, sealed), plain);
    }
  });

  test("metadata", async () => {
    for (const c of FILES.metadata) {
      const key = await FileKey.decode(c.key);
      assert.equal(await sealFileMetadata(key, c.metadata, b64uDecode(c.nonce)), c.envelope);
      assert.deepEqual(await openFileMetadata(key, c.envelope), c.metadata);
    }
  });

  test("every failure is its typed error", async () => {
    for (const c of FILES.errors) {
      const run = async () => {
        if (c.op === "decode_key") return FileKey.decode(c.key);
        const key = await FileKey.decode(c.key);
        if (c.op === "open_metadata") return openFileMetadata(key, c.envelope);
        return openBlock(key, c.index, c.count, fromHex(c.sealed));
      };
      assert.equal(await codeOf(run), c.code, `${c.op}: ${c.label}`);
    }
  });
});

describe("e2e files: round trips and bad input", () => {
  test("a whole block under another block count fails", async () => {
    const key = await FileKey.generate();
    const block = pattern(BLOCK_SIZE);
    const sealed = await sealBlock(key, 0, 2, block);
    assert.deepEqual(await openBlock(key, 0, 2, sealed), block);
    assert.equal(await codeOf(() => openBlock(key, 0, 1, sealed)), "auth_failed");
  });

  test("spans tile the sealed file", () => {
    for (const size of [1, BLOCK_SIZE - 1, BLOCK_SIZE, 3 * BLOCK_SIZE + 5]) {
      let next = 0;
      for (let i = 0; i < blockCount(size); i++) {
        const { offset, length } = sealedBlockSpan(i, size);
        assert.equal(offset, next);
        next = offset + length;
      }
      assert.equal(next, sealedSize(size));
    }
  });

  test("bad sizes, indexes, lengths and metadata", async () => {
    const key = await FileKey.generate();
    assert.equal(await codeOf(() => blockCount(-1)), "malformed");
    for (const sealed of [-1, 1, 16, BLOCK_SIZE + 32]) assert.equal(await codeOf(() => plainSize(sealed)), "malformed");
    assert.equal(await codeOf(() => sealedBlockSpan(1, 5)), "malformed");
    assert.equal(await codeOf(() => sealBlock(key, 0, 1, new Uint8Array(0))), "malformed");
    assert.equal(await codeOf(() => sealBlock(key, 0, 1, new Uint8Array(BLOCK_SIZE + 1))), "malformed");
    assert.equal(await codeOf(() => FileKey.fromSecret(new Uint8Array(31))), "bad_key");
    const { seal, NONCE_SIZE } = await import("../../src/peerlane/web/e2e/scheme.js");
    const { FILE_METADATA_AAD } = await import("../../src/peerlane/web/e2e/file-crypto.js");
    const notJson = await seal(
      key.metadataKey,
      key.kid,
      new Uint8Array(NONCE_SIZE),
      Uint8Array.of(0xff),
      FILE_METADATA_AAD,
    );
    assert.equal(await codeOf(() => openFileMetadata(key, notJson)), "malformed");
  });
});

// File blocks sealed and opened in the block worker (web/e2e/block-crypto.js, the worker
// web/e2e/file-crypto-worker.js): run here in a real thread (node's worker_threads, with a
// browser worker's `self`: block-worker-shim.mjs), so the CryptoKey and the bytes really
// cross threads. The worker's blocks are the vectors' bytes (tests/vectors/e2e.json, as in
// the page's thread), its failures the same typed errors, and a worker that does not load
// leaves every block, held ones too, to the page.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { Worker } from "node:worker_threads";

import { BlockCrypto } from "../../src/peerlane/web/e2e/block-crypto.js";
import { BLOCK_SIZE, FileKey, openBlock, sealBlock } from "../../src/peerlane/web/e2e/file-crypto.js";
import { E2EError } from "../../src/peerlane/web/e2e/scheme.js";

const FILES = JSON.parse(readFileSync(new URL("../vectors/e2e.json", import.meta.url), "utf-8")).files;
const WORKER = new URL("../../src/peerlane/web/e2e/file-crypto-worker.js", import.meta.url).href;

/** integrity.pattern(size): byte i is (31 i + 7) % 251. @param {number} size */
const pattern = (size) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) % 251);

/** A worker_threads Worker that looks like a browser's Worker to BlockCrypto. */
function threadWorker(module = WORKER) {
  const thread = new Worker(new URL("./block-worker-shim.mjs", import.meta.url), { workerData: { module } });
  return {
    thread,
    posted: [],
    postMessage(message, transfer) {
      this.posted.push(message.bytes.buffer.byteLength);
      thread.postMessage(message, transfer);
    },
    terminate: () => thread.terminate(),
    addEventListener(type, listener) {
      if (type === "message") thread.on("message", (data) => listener({ data }));
      if (type === "error") thread.on("error", (error) => listener({ error, preventDefault() {} }));
    },
  };
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

describe("the block worker", () => {
  const started = [];
  const blocks = new BlockCrypto(() => {
    const w = threadWorker();
    started.push(w);
    return w;
  });
  after(() => {
    for (const w of started) w.terminate();
  });

  test("seals and opens the vectors' blocks in the worker thread, the same bytes", async () => {
    const files = new Map();
    for (const c of FILES.blocks) {
      if (!files.has(c.size)) files.set(c.size, pattern(c.size));
      const plain = files.get(c.size).subarray(c.index * BLOCK_SIZE, (c.index + 1) * BLOCK_SIZE);
      const key = await FileKey.decode(c.key);
      const kept = Uint8Array.from(plain);
      const sealed = await blocks.seal(key, c.index, c.count, plain);
      assert.equal(sha256(sealed), c.sealed_sha256);
      assert.deepEqual(plain, kept, "the caller's bytes are left as they were (copied, not moved)");
      assert.deepEqual(await blocks.open(key, c.index, c.count, sealed), plain);
      assert.equal(sha256(await sealBlock(key, c.index, c.count, plain)), c.sealed_sha256);
    }
    assert.equal(started.length, 1, "one worker for every block");
    assert.equal(blocks.inWorker, 2 * FILES.blocks.length, "every block was done in the worker");
  });

  test("a tampered or moved block fails with the page's typed error", async () => {
    const key = await FileKey.generate();
    const sealed = await blocks.seal(key, 0, 2, new Uint8Array(BLOCK_SIZE).fill(5));
    await assert.rejects(
      blocks.open(key, 1, 2, sealed),
      (err) => err instanceof E2EError && err.code === "auth_failed",
    );
    sealed[3] ^= 1;
    await assert.rejects(
      blocks.open(key, 0, 2, sealed),
      (err) => err instanceof E2EError && err.code === "auth_failed",
    );
    await assert.rejects(
      blocks.seal(key, 0, 2, new Uint8Array(3)),
      (err) => err instanceof E2EError && err.code === "malformed",
    );
  });

  test("a block that is a view into a larger buffer goes alone, and the caller keeps it", async () => {
    const key = await FileKey.generate();
    const slice = new Uint8Array(8 * BLOCK_SIZE).fill(3); // the sender's read-ahead slice
    const block = slice.subarray(BLOCK_SIZE, 2 * BLOCK_SIZE);
    const sealed = await blocks.seal(key, 1, 8, block);
    assert.equal(started.at(-1).posted.at(-1), BLOCK_SIZE, "1 MiB crossed, not the 8 MiB slice");
    assert.equal(slice.byteLength, 8 * BLOCK_SIZE, "the caller's buffer is not moved away");
    assert.deepEqual(await openBlock(key, 1, 8, sealed), block);
  });

  test("blocks in flight together each get their own answer", async () => {
    const key = await FileKey.generate();
    const count = 6;
    const plains = Array.from({ length: count }, (_, i) => new Uint8Array(BLOCK_SIZE).fill(i));
    const sealed = await Promise.all(plains.map((p, i) => blocks.seal(key, i, count, p)));
    const opened = await Promise.all(sealed.map((s, i) => openBlock(key, i, count, s)));
    assert.deepEqual(opened, plains);
  });
});

describe("without a working worker", () => {
  test("a worker that does not load hands its blocks, and every later one, to the page", async () => {
    let made = 0;
    const blocks = new BlockCrypto(() => {
      made += 1;
      return threadWorker(new URL("./no-such-worker.js", import.meta.url).href);
    });
    const key = await FileKey.generate();
    const plain = new Uint8Array(100).fill(9);
    const sealed = await blocks.seal(key, 0, 1, plain);
    assert.deepEqual(await openBlock(key, 0, 1, sealed), plain);
    assert.deepEqual(await blocks.open(key, 0, 1, sealed), plain);
    assert.equal(made, 1, "not started again");
    assert.equal(blocks.inWorker, 0);
  });

  test("with no Worker at all (node's page modules) blocks run in this thread", async () => {
    const blocks = new BlockCrypto(null);
    const key = await FileKey.generate();
    const sealed = await blocks.seal(key, 0, 1, new Uint8Array([1, 2, 3]));
    assert.deepEqual(await blocks.open(key, 0, 1, sealed), new Uint8Array([1, 2, 3]));
  });
});

// Encrypted share links (web/share-e2e.js): the link's fragment carries the share key;
// a file goes up as its sealed blocks with only `share` and a sealed envelope as
// metadata (through the real upload queue, share-uploads.js); the download page opens the
// envelope and the blocks, and a broken download goes on with Range from the next block.
import assert from "node:assert/strict";
import { test } from "node:test";

import { SEALED_BLOCK_SIZE, sealedSize } from "../../src/peerlane/web/e2e/file-crypto.js";
import {
  downloadSealed,
  newKeyText,
  newShareKey,
  openShareMeta,
  parseShareFragment,
  sharedBytes,
  withShareKey,
} from "../../src/peerlane/web/share-e2e.js";
import { UploadItem, UploadQueue } from "../../src/peerlane/web/share-uploads.js";
import { MiB, pattern } from "./transfer-fakes.mjs";

test("share fragments: token and key, or a link made before keys", () => {
  const key = newKeyText();
  assert.deepEqual(parseShareFragment(`#tok_1-x.${key}`), { token: "tok_1-x", key });
  assert.deepEqual(parseShareFragment("#tok_1-x"), { token: "tok_1-x", key: null });
  assert.deepEqual(parseShareFragment("tok.short"), { token: "tok.short", key: null });
  const link = withShareKey("/s#tok", newShareKey());
  assert.deepEqual(parseShareFragment(link.split("#")[1]).token, "tok");
  assert.match(parseShareFragment(link.split("#")[1]).key, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(withShareKey("/s#tok", null), "/s#tok");
  assert.equal(sharedBytes([{ size: MiB + 1 }, { size: 0 }], key), MiB + 1 + 32);
  assert.equal(sharedBytes([{ size: MiB + 1 }], null), MiB + 1);
});

/** The queue uploading one file of a keyed share into a fake server; what it stored. */
async function uploadOne(bytes, name, link) {
  const stored = {};
  const saved = { files: [{ name, size: bytes.length, type: "text/plain" }] };
  const share = { id: "sh1", link, manage_token: "m", expires_at: 2e9, max_downloads: null };
  const file = Object.assign(new Blob([bytes], { type: "text/plain" }), { name, webkitRelativePath: "" });
  const queue = new UploadQueue(share, [new UploadItem(file)], {
    upload: async (body, options) => {
      stored.metadata = options.metadata;
      stored.bytes = new Uint8Array(await body.slice(0, body.size).arrayBuffer());
      return { url: "u", fileId: "f1" };
    },
    updateShare: (_id, change) => change(saved),
    fetch: async () => new Response(),
  });
  assert.equal(await queue.run(), "done");
  return { stored, saved };
}

test("an encrypted share's file: sealed blocks up, nothing in the clear, and it opens on download", async () => {
  const key = newKeyText();
  const size = 2 * MiB + 3;
  const bytes = pattern(size);
  const name = "secret plans 😀.txt";
  const { stored, saved } = await uploadOne(bytes, name, `https://host/s#tok.${key}`);
  assert.deepEqual(Object.keys(stored.metadata).sort(), ["sealed", "share"]);
  assert.equal(stored.bytes.length, sealedSize(size));
  assert.ok(!JSON.stringify(stored.metadata).includes("secret"));
  assert.match(saved.files[0].key, /^[A-Za-z0-9_-]{43}$/, "the file key is kept for a resume");

  const meta = await openShareMeta(key, stored.metadata.sealed);
  assert.deepEqual({ ...meta, key: undefined }, { name, type: "text/plain", size, key: undefined });
  assert.equal(await openShareMeta(newKeyText(), stored.metadata.sealed), null, "another link's key");

  // The first answer breaks off inside the second block: the rest comes by Range.
  const requests = [];
  const fetch = async (_url, init) => {
    const range = init?.headers?.Range ?? null;
    requests.push(range);
    if (!range) {
      const head = stored.bytes.subarray(0, SEALED_BLOCK_SIZE + 999);
      let sent = false;
      const body = new ReadableStream({
        pull(c) {
          if (sent) return c.error(new Error("reset"));
          sent = true;
          c.enqueue(head);
        },
      });
      return new Response(body, { status: 200 });
    }
    const from = Number(/bytes=(\d+)-/.exec(range)[1]);
    return new Response(stored.bytes.slice(from), { status: 206 });
  };
  const blob = await downloadSealed("/api/shares/sh1/files/f1", meta, { fetch });
  assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), bytes);
  assert.deepEqual(requests, [null, `bytes=${SEALED_BLOCK_SIZE}-`]);
});

test("a tampered sealed file fails to download instead of giving wrong bytes", async () => {
  const key = newKeyText();
  const { stored } = await uploadOne(pattern(1000), "a.txt", `/s#tok.${key}`);
  const meta = await openShareMeta(key, stored.metadata.sealed);
  stored.bytes[5] ^= 1;
  const fetch = async () => new Response(stored.bytes.slice(0), { status: 200 });
  await assert.rejects(downloadSealed("/x", meta, { fetch, tries: 2 }), { code: "auth_failed" });
});

test("a share link without a key uploads the clear file with its name, as before", async () => {
  const { stored } = await uploadOne(pattern(10), "a.txt", "https://host/s#tok");
  assert.deepEqual(stored.metadata, { share: "sh1", name: "a.txt", type: "text/plain" });
  assert.deepEqual(stored.bytes, pattern(10));
});

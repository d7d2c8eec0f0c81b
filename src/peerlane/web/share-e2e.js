// End-to-end encrypted share links (docs/protocol.md, "End-to-end encryption" → "Files"):
// the link is `/s#<token>.<share key S>`; each file gets its own key F and goes up as its
// sealed blocks; its name, type, size and F travel only in the upload's `sealed`
// metadata, an envelope under S (e2e/file-crypto.js sealFileMetadata). The server lists
// the envelope as given; the download page opens it with the S of its fragment and
// opens each block as it comes. A link without a key (made before this) works as before.

import { openBlockAway } from "./e2e/block-crypto.js";
import {
  BLOCK_SIZE,
  blockCount,
  FileKey,
  openFileMetadata,
  SEALED_BLOCK_SIZE,
  sealedSize,
  sealFileMetadata,
} from "./e2e/file-crypto.js";
import { b64uEncode, KEY_SIZE, randomBytes, TAG_SIZE } from "./e2e/scheme.js";
import { SealedFile } from "./transfer-e2e.js";

const KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;

/** A fresh key (a share's S, or a file's F), as links and metadata carry it. */
export function newKeyText() {
  return b64uEncode(randomBytes(KEY_SIZE));
}

/** A new share's key, or null where WebCrypto is missing (a plain-http LAN page cannot encrypt). */
export function newShareKey() {
  return globalThis.crypto?.subtle ? newKeyText() : null;
}

/**
 * The bytes the server will hold for `files` (what a new share asks room for): sealed,
 * a tag per MiB, with a key.
 * @param {{size: number}[]} files
 * @param {string | null} key
 */
export function sharedBytes(files, key) {
  return files.reduce((n, f) => n + (key ? sealedSize(f.size) : f.size), 0);
}

/**
 * A share's link with its key in the fragment (after the token).
 * @param {string} link
 * @param {string | null} key
 */
export function withShareKey(link, key) {
  return key ? `${link}.${key}` : link;
}

/**
 * The token and key of a share link's fragment (with or without "#"); key null: a link
 * without end-to-end encryption.
 * @param {string} fragment
 */
export function parseShareFragment(fragment) {
  const raw = fragment.replace(/^#/, "").trim();
  const dot = raw.lastIndexOf(".");
  const key = dot > 0 ? raw.slice(dot + 1) : "";
  return KEY_TEXT.test(key) ? { token: raw.slice(0, dot), key } : { token: raw, key: null };
}

/**
 * What goes up for one file of an encrypted share: the sealed blocks, and metadata with
 * nothing in the clear but the share.
 * @param {{shareId: string, shareKey: string, fileKey: string, file: Blob, name: string, type: string}} what
 */
export async function sealedShareUpload({ shareId, shareKey, fileKey, file, name, type }) {
  const meta = { name, type, size: file.size, key: fileKey };
  const sealed = await sealFileMetadata(await FileKey.decode(shareKey), meta);
  return { body: new SealedFile(file, FileKey.decode(fileKey)), metadata: { share: shareId, sealed } };
}

/**
 * @typedef {{name: string, type: string, size: number, key: string}} SealedMeta
 */

/**
 * A listed file's sealed metadata opened with the link's key, or null (none, or it does
 * not open: shown as a file that cannot be decrypted).
 * @param {string} shareKey
 * @param {unknown} sealed
 * @returns {Promise<SealedMeta | null>}
 */
export async function openShareMeta(shareKey, sealed) {
  if (typeof sealed !== "string") return null;
  try {
    const meta = /** @type {Record<string, unknown>} */ (
      await openFileMetadata(await FileKey.decode(shareKey), sealed)
    );
    const { name, type, size, key } = meta ?? {};
    if (typeof name !== "string" || typeof size !== "number" || typeof key !== "string" || !KEY_TEXT.test(key))
      return null;
    return { name, type: typeof type === "string" ? type : "", size, key };
  } catch {
    return null;
  }
}

/**
 * Download a sealed file and open it block by block; a broken response goes on with a
 * Range request from the first block not yet opened (at most `tries` times).
 * @param {string} url
 * @param {SealedMeta} meta
 * @param {{fetch?: typeof fetch, onProgress?: (bytes: number) => void, tries?: number}} [options]
 * @returns {Promise<Blob>}
 */
export async function downloadSealed(url, meta, { fetch: get = fetch, onProgress, tries = 5 } = {}) {
  const key = await FileKey.decode(meta.key);
  const count = blockCount(meta.size);
  /** @type {Uint8Array[]} */
  const parts = [];
  for (let attempt = 0; parts.length < count; attempt++) {
    const from = parts.length * SEALED_BLOCK_SIZE;
    const headers = from ? { Range: `bytes=${from}-` } : undefined;
    try {
      const response = await get(url, { credentials: "same-origin", headers });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      if (from && response.status !== 206) throw new Error("the server ignored the range");
      await openStream(response.body, key, count, parts, meta.size, onProgress);
    } catch (err) {
      if (attempt + 1 >= tries) throw err;
    }
  }
  return new Blob(/** @type {BlobPart[]} */ (parts), { type: meta.type || "application/octet-stream" });
}

/**
 * @param {ReadableStream<Uint8Array>} body
 * @param {FileKey} key
 * @param {number} count
 * @param {Uint8Array[]} parts  the opened blocks so far (appended to)
 * @param {number} size
 * @param {((bytes: number) => void) | undefined} onProgress
 */
async function openStream(body, key, count, parts, size, onProgress) {
  const reader = body.getReader();
  const wire = (/** @type {number} */ i) => Math.min(BLOCK_SIZE, size - i * BLOCK_SIZE) + TAG_SIZE;
  let block = new Uint8Array(wire(parts.length));
  let filled = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    for (let at = 0; at < value.length && parts.length < count; ) {
      const take = Math.min(value.length - at, block.length - filled);
      block.set(value.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled < block.length) continue;
      parts.push(await openBlockAway(key, parts.length, count, block)); // in the block worker
      onProgress?.(Math.min(size, parts.length * BLOCK_SIZE));
      if (parts.length < count) block = new Uint8Array(wire(parts.length));
      filled = 0;
    }
  }
}

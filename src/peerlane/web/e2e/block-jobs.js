// One file block sealed or opened, as a message in and a message out: what the block
// worker (file-crypto-worker.js) runs, and the page itself where there is no worker
// (block-crypto.js). Plain data only, so it crosses postMessage: the block subkey is a
// CryptoKey (structured-cloneable, non-extractable as it was made), the bytes a Uint8Array;
// a failure is its E2EError code and message.

import { openBlockWith, sealBlockWith } from "./file-crypto.js";
import { E2EError } from "./scheme.js";

/**
 * @typedef {{id: number, op: "seal" | "open", key: CryptoKey, index: number, count: number,
 *   bytes: Uint8Array}} BlockJob
 * @typedef {{id: number, bytes: Uint8Array} | {id: number, error: {code: string, message: string}}} BlockDone
 */

/**
 * @param {BlockJob} job
 * @returns {Promise<BlockDone>}
 */
export async function runBlockJob({ id, op, key, index, count, bytes }) {
  try {
    const out =
      op === "seal" ? await sealBlockWith(key, index, count, bytes) : await openBlockWith(key, index, count, bytes);
    return { id, bytes: out };
  } catch (err) {
    const code = err instanceof E2EError ? err.code : "malformed";
    return { id, error: { code, message: err instanceof Error ? err.message : String(err) } };
  }
}

/** The outcome as the caller sees it: the bytes, or the E2EError. @param {BlockDone} done */
export function blockResult(done) {
  if ("error" in done) throw new E2EError(/** @type {any} */ (done.error.code), done.error.message);
  return done.bytes;
}

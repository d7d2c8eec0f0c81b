// Batched control messages (docs/file-transfer.md, "Batched control messages"): one chat
// message offers, accepts or confirms many files (`offers`, `accepts`, `dones`), as
// `peerlane send` and `peerlane receive` say them so that thousands of small files are not
// paced one chat message each. Expanded here into the per-file messages the engine already
// handles (the Python side is core/transfer_batch.py): a batched message means exactly
// what its per-file messages would.

import { blockCount } from "./integrity.js";

export const BATCH_OPS = Object.freeze(["offers", "accepts", "dones"]);
const BATCH_ID = /^[A-Za-z0-9_]{1,40}$/;
const TRANSFER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** @param {unknown} value */
const isIndex = (value) => Number.isSafeInteger(value) && /** @type {number} */ (value) >= 0;

/**
 * The per-file control messages a batched one stands for ([] when it is malformed), or
 * null when `body` is not a batched message.
 * @param {unknown} body
 * @returns {Record<string, unknown>[] | null}
 */
export function expandBatch(body) {
  if (!body || typeof body !== "object") return null;
  const b = /** @type {Record<string, unknown>} */ (body);
  if (!BATCH_OPS.includes(/** @type {string} */ (b.op))) return null;
  if (b.op === "offers") return expandOffers(b);
  if (!Array.isArray(b.transfers)) return [];
  const ids = b.transfers.filter((t) => typeof t === "string" && TRANSFER_ID.test(t));
  if (b.op === "dones") return ids.map((transfer) => ({ op: "done", transfer }));
  const have = b.have && typeof b.have === "object" ? /** @type {Record<string, unknown>} */ (b.have) : {};
  const fast = "fast" in b ? { fast: b.fast } : {}; // (the terminal's; the engine ignores it)
  return ids.map((transfer) => ({ op: "accept", transfer, have: have[transfer] ?? 0, ...fast }));
}

/** @param {Record<string, unknown>} b */
function expandOffers(b) {
  const { batch, first, count, files } = b;
  if (typeof batch !== "string" || !BATCH_ID.test(batch) || !Array.isArray(files)) return [];
  if (!isIndex(first) || !isIndex(count)) return [];
  /** @type {Record<string, unknown>[]} */
  const out = [];
  files.forEach((entry, i) => {
    const at = /** @type {number} */ (first) + i;
    if (at >= /** @type {number} */ (count) || !Array.isArray(entry) || entry.length < 3 || entry.length > 5) return;
    // [name, size, root, type?, key?]: the key F of a file in an encrypted room
    const [name, size, root, type = "", key] = entry;
    out.push({
      op: "offer",
      transfer: `${batch}-${at}`,
      name,
      size,
      type,
      root,
      blocks: isIndex(size) ? blockCount(size) : null,
      to: b.to ?? null,
      peer: b.peer ?? null,
      batch,
      count,
      bulk: true,
      ...("fast" in b ? { fast: b.fast } : {}),
      ...(entry.length === 5 ? { key } : {}),
    });
  });
  return out;
}

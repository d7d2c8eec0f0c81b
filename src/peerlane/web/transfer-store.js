// Where transfer records live between visits: IndexedDB (opfs.js's ManifestStore), the
// small record apart from its hash lists ("<id>/hashes", "<id>/stored"), so that saving
// the record (a checkpoint, at most every second while blocks come) stays cheap. A store
// that fails is logged, never thrown: the transfer goes on, it only may not resume.

import { debug } from "./debug.js";
import { FINAL } from "./transfer-machine.js";
import { loaded, loadHashes, persisted } from "./transfer-records.js";

/** @typedef {import("./opfs.js").ManifestStore} ManifestStore */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */

/**
 * A room's saved transfers, each with its hash lists where they may still be needed (an
 * open transfer, or a finished offer to everyone that someone may still accept).
 * @param {ManifestStore} manifests
 * @param {string} room
 * @returns {Promise<TransferRecord[]>}
 */
export async function savedRecords(manifests, room) {
  /** @type {TransferRecord[]} */
  let saved = [];
  try {
    saved = /** @type {TransferRecord[]} */ (/** @type {unknown} */ (await manifests.list(room)));
  } catch (err) {
    debug("transfer", "manifests unreadable", err);
  }
  const out = [];
  for (const stored of saved) {
    const record = loaded(stored);
    const open = !FINAL.includes(record.state) || (record.direction === "out" && record.state === "done");
    if (open && !record.dismissed) await loadHashes(manifests, record);
    out.push(record);
  }
  return out;
}

/**
 * @param {ManifestStore} manifests
 * @param {TransferRecord} record
 */
export function saveRecord(manifests, record) {
  manifests.put(persisted(record)).catch((err) => debug("transfer", "manifest not saved", err));
}

/**
 * @param {ManifestStore} manifests
 * @param {TransferRecord} record
 */
export function saveHashes(manifests, record) {
  return manifests
    .put({ id: `${record.id}/hashes`, room: "", hashes: record.hashes })
    .catch((err) => debug("transfer", "hashes not saved", err));
}

/**
 * Drop a transfer's hash lists (it is over).
 * @param {ManifestStore} manifests
 * @param {string} id
 */
export function dropHashes(manifests, id) {
  for (const key of [`${id}/hashes`, `${id}/stored`]) manifests.remove(key).catch(() => {});
}

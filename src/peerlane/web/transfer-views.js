// What the UI reads of a transfer (docs/file-transfer.md → "Engine API"): a fresh
// TransferView per call, made from the stored record and its runtime state.

import { BLOCK_SIZE } from "./integrity.js";
import { speedOf } from "./transfer-live.js";
import { FINAL } from "./transfer-machine.js";

/** @typedef {import("./transfer-live.js").Live} Live */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */
/** @typedef {import("./transfer-records.js").TransferView} TransferView */
/** @typedef {import("./transfer-records.js").TransferNote} TransferNote */
/** @typedef {import("./transfer-records.js").TransferPath} TransferPath */

/**
 * @param {TransferRecord} r
 * @param {Live} live
 * @param {{now: number, stalled: boolean, stallMs: number}} at  `stalled`: the watchdog's verdict
 * @returns {TransferView}
 */
export function viewOf(r, live, { now, stalled, stallMs }) {
  const bytesDone = bytesDoneOf(r, live);
  const speedBps = r.state === "sending" || r.state === "receiving" ? speedOf(live.samples, now) : 0;
  const left = r.size - bytesDone;
  /** @type {TransferNote | null} */
  const note = stalled
    ? { code: "stalled", seconds: Math.round(stallMs / 1000) }
    : FINAL.includes(r.state) && r.state !== "failed"
      ? null
      : live.note;
  return {
    id: r.id,
    direction: r.direction,
    state: stalled ? "stalled" : r.state,
    path: live.path,
    name: r.name,
    size: r.size,
    type: r.type,
    sender: r.sender,
    senderName: r.senderName,
    to: r.to,
    toName: r.toName,
    root: r.root,
    bytesDone,
    speedBps,
    etaSeconds: speedBps > 0 ? Math.ceil(left / speedBps) : left === 0 ? 0 : null,
    error: r.error && { ...r.error },
    note: note && { ...note },
    receivers: Object.entries(r.receivers).map(([participant, x]) => ({
      participant,
      name: x.name,
      state: x.state,
      bytesDone: Math.min(r.size, x.have * BLOCK_SIZE),
      path: live.sessions.has(participant) ? live.path : r.fileId ? "server" : null,
    })),
    createdAt: r.createdAt,
  };
}

/**
 * Outgoing: bytes the furthest receiver verified, or the upload's progress, whichever is
 * more; incoming: bytes verified.
 * @param {TransferRecord} r
 * @param {Live} live
 */
function bytesDoneOf(r, live) {
  if (r.state === "done") return r.size;
  if (r.direction === "in") return live.receiver?.bytesVerified ?? Math.min(r.size, r.have * BLOCK_SIZE);
  const verified = Math.max(0, ...Object.values(r.receivers).map((x) => Math.min(r.size, x.have * BLOCK_SIZE)));
  return Math.max(verified, live.uploadOffset);
}

/**
 * Wire bytes per transfer (data-channel payload, tus bodies, download bodies).
 * @param {Map<string, TransferRecord>} records
 * @param {Map<string, Live>} lives
 */
export function statsOf(records, lives) {
  /** @type {Record<string, {bytesSent: number, bytesReceived: number, path: TransferPath | null, blocksVerified: number, blocksBad: number}>} */
  const out = {};
  for (const [id, live] of lives) {
    const record = /** @type {TransferRecord} */ (records.get(id));
    const blocksVerified = record.direction === "in" ? (live.receiver?.verifiedCount ?? record.have) : 0;
    out[id] = {
      bytesSent: live.bytesSent,
      bytesReceived: live.bytesReceived,
      path: live.path,
      blocksVerified,
      blocksBad: live.blocksBad,
    };
  }
  return out;
}

// Transfer records: what a transfer is, as kept in IndexedDB and shown to the UI, and
// how one is made (a file to send, an offer received, a tombstone). Their `state`
// changes only through transfer-machine.js.

import { debug } from "./debug.js";
import { blockCount, isRoot } from "./integrity.js";
import { offeredKey } from "./transfer-e2e.js";

/**
 * @typedef {"offered" | "waiting" | "sending" | "receiving" | "verifying" | "done" | "declined"
 *   | "cancelled" | "failed" | "needs-file" | "stalled"} TransferState
 *   "stalled" is never stored: it is how the view shows a waiting/sending/receiving
 *   transfer that made no progress for stallMs (the engine's watchdog).
 * @typedef {"direct" | "turn" | "server"} TransferPath
 * @typedef {"waiting" | "sending" | "done" | "declined" | "cancelled"} ReceiverState
 * @typedef {{participant: string, name: string, state: ReceiverState, bytesDone: number, path: TransferPath | null}} ReceiverView
 */

/**
 * A note or an error as a code and its parameters; ui/transfer-text.js says it in words.
 * Codes (notes): preparing {percent}, checking {percent?}, pick-again, waiting-accept
 * {name: string | null}, reconnecting, via-server, server-unreachable, connecting,
 * waiting-sender {name}, waiting-pick {name}, downloading, server-status {status},
 * trying-again, stalled {seconds}.
 * Codes (errors): not-same-file, no-space {needed, free}, cannot-store {detail},
 * cannot-read {detail}, upload-failed {detail}, offer-mismatch, keeps-damaged,
 * store-failed {detail}, server-copy-gone, download-keeps-failing, download-failed
 * {detail}, integrity-failed. `detail` is the browser's own wording of what went wrong.
 * @typedef {{code: string, [param: string]: string | number | null}} TransferNote
 */

/**
 * What the UI reads (see docs/file-transfer.md → "Engine API").
 * @typedef {{
 *   id: string, direction: "in" | "out", state: TransferState, path: TransferPath | null,
 *   name: string, size: number, type: string, sender: string, senderName: string,
 *   to: string | null, toName: string | null, root: string | null, bytesDone: number,
 *   speedBps: number, etaSeconds: number | null, error: TransferNote | null, note: TransferNote | null,
 *   receivers: ReceiverView[], createdAt: number,
 * }} TransferView
 */

/**
 * A transfer as kept in IndexedDB (both directions; the fields of the other are unused).
 * @typedef {{
 *   id: string, room: string, direction: "in" | "out", state: TransferState,
 *   name: string, size: number, type: string, sender: string, senderName: string,
 *   to: string | null, toName: string | null, root: string | null, blocks: number,
 *   hashes: string[] | null, createdAt: number, error: TransferNote | null, dismissed?: boolean,
 *   have: number, stored: string[], accepted: boolean, fileId: string | null, offerPeer: string | null,
 *   uploadUrl: string | null, key: string | null,
 *   receivers: Record<string, {name: string, state: ReceiverState, have: number}>,
 *   batch?: {id: string, count: number} | null,
 * }} TransferRecord
 *   have/stored: receiver — verified blocks 0 … have-1 are in OPFS, with these hashes.
 *   fileId: the server's copy (fallback), once uploaded. uploadUrl: the sender's tus URL.
 *   key: the file key F of an end-to-end encrypted room's transfer (base64url), else null.
 *   batch: the sender's files picked together (offered with `batch` and `count`, so that a
 *   terminal receiver takes them all at once rather than the first few hashed).
 *   hashes and stored (up to 4096 × 64 characters for a 4 GiB file) are kept apart from
 *   the rest (records "<id>/hashes", "<id>/stored"), so saving the small record (a
 *   checkpoint, at most every second while blocks come) stays cheap.
 */

/** @typedef {import("./opfs.js").Manifest} Manifest */

/**
 * @param {string} id
 * @param {string} room
 * @param {"in" | "out"} direction
 * @param {number} createdAt
 * @returns {TransferRecord}
 */
export function blankRecord(id, room, direction, createdAt) {
  return {
    id,
    room,
    direction,
    state: "waiting",
    name: "",
    size: 0,
    type: "",
    sender: "",
    senderName: "",
    to: null,
    toName: null,
    root: null,
    blocks: 0,
    hashes: null,
    createdAt,
    error: null,
    have: 0,
    stored: [],
    accepted: false,
    fileId: null,
    offerPeer: null,
    uploadUrl: null,
    key: null,
    receivers: {},
  };
}

/**
 * A file this tab sends: "waiting" (hashing, then waiting for an accept).
 * @param {{id: string, room: string, now: number, file: File, sender: {participant_id: string, name: string},
 *   to: string | null, toName: string | null, key?: string | null,
 *   batch?: {id: string, count: number} | null}} what
 *   key: a fresh file key in an end-to-end encrypted room; batch: the files picked with it
 * @returns {TransferRecord}
 */
export function outgoingRecord({ id, room, now, file, sender, to, toName, key = null, batch = null }) {
  return {
    ...blankRecord(id, room, "out", now),
    name: displayName(file),
    size: file.size,
    type: file.type || "",
    sender: sender.participant_id,
    senderName: sender.name,
    to,
    toName,
    blocks: blockCount(file.size),
    key,
    batch,
  };
}

/**
 * An offer received: "offered", or null when it is not for me or does not add up.
 * @param {{id: string, room: string, now: number, me: string, sender: string, senderName: string,
 *   body: Record<string, unknown>, nameOf: (participant: string) => string}} what
 * @returns {TransferRecord | null}
 */
export function incomingRecord({ id, room, now, me, sender, senderName, body, nameOf }) {
  const { name, size, type, root, blocks, to, peer, key } = body;
  if (to !== null && to !== me) return null; // addressed to someone else
  if (!Number.isSafeInteger(size) || /** @type {number} */ (size) < 0 || !isRoot(root)) return null;
  if (blocks !== blockCount(/** @type {number} */ (size))) return null;
  return {
    ...blankRecord(id, room, "in", now),
    state: "offered",
    name: cleanName(name),
    size: /** @type {number} */ (size),
    type: typeof type === "string" ? type.slice(0, 255) : "",
    sender,
    senderName,
    to: /** @type {string | null} */ (to),
    toName: to ? nameOf(/** @type {string} */ (to)) : null,
    root: /** @type {string} */ (root),
    blocks: /** @type {number} */ (blocks),
    offerPeer: typeof peer === "string" ? peer : null,
    key: offeredKey(key),
  };
}

/**
 * What is left of a dismissed transfer, so the offer in the chat history does not bring it back.
 * @param {TransferRecord} record
 * @returns {TransferRecord}
 */
export function tombstoneOf(record) {
  return {
    ...blankRecord(record.id, record.room, record.direction, record.createdAt),
    state: record.state,
    dismissed: true,
  };
}

/**
 * The record as saved: without the (large) hash lists, kept apart.
 * @param {TransferRecord} record
 * @returns {Manifest}
 */
export function persisted(record) {
  const { hashes, stored, ...rest } = record;
  return /** @type {Manifest} */ (/** @type {unknown} */ (rest));
}

/**
 * A record read back from IndexedDB. Errors were plain words before they were codes:
 * such a record's error is kept, as words to show.
 * @param {TransferRecord} record
 * @returns {TransferRecord}
 */
export function loaded(record) {
  const error = /** @type {unknown} */ (record.error);
  const fixed = typeof error === "string" ? { code: "text", text: error } : record.error;
  return { ...record, error: fixed, hashes: null, stored: [] };
}

/**
 * Read a record's hash lists back (kept apart from it: see TransferRecord).
 * @param {import("./opfs.js").ManifestStore} manifests
 * @param {TransferRecord} record  (changed here)
 */
export async function loadHashes(manifests, record) {
  try {
    const hashes = await manifests.get(`${record.id}/hashes`);
    const stored = await manifests.get(`${record.id}/stored`);
    record.hashes = Array.isArray(hashes?.hashes) ? hashes.hashes : null;
    record.stored = Array.isArray(stored?.stored) ? stored.stored : [];
  } catch (err) {
    debug("transfer", "hashes unreadable", record.id, err);
    Object.assign(record, { hashes: null, stored: [], have: 0 });
  }
}

/** A transfer id: 16 random bytes, hex (no secure context needed). */
export function newTransferId() {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {unknown} id */
export function validId(id) {
  return typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id);
}

/** The name to show: a folder's relative path, else the file name. @param {File} file */
export function displayName(file) {
  return cleanName(/** @type {File & {webkitRelativePath?: string}} */ (file).webkitRelativePath || file.name);
}

/**
 * Display text only, never a path: no control or bidi-override characters, no "..".
 * @param {unknown} name
 */
export function cleanName(name) {
  const text = typeof name === "string" ? name : "";
  const clean = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control and bidi characters are what it removes
    .replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, "")
    .split(/[\\/]+/)
    .filter((part) => part && part !== "." && part !== "..")
    .join("/")
    .slice(0, 1024);
  return clean || "file";
}

// The room keys this device holds (docs/protocol.md, "End-to-end encryption"): per room,
// every epoch's key as it rides in an invite link (43 base64url characters), in IndexedDB
// (`peerlane-e2e`) beside the room's copy (device-rooms.js), and in memory for the page
// that is opening the room right now (the write may not have landed yet). The key of an
// invite link's fragment (`#<token>.<key>`) is taken here when the link joins a room.

import { debug } from "../debug.js";

const DB_NAME = "peerlane-e2e";
const STORE = "keys";

/** @typedef {{room_id: string, keys: {secret: string, epoch: number}[]}} KeyRecord */

/** room id → key text, for this page's life. @type {Map<string, string>} */
const held = new Map();

/**
 * room id → the kept keys, read ahead for the room page about to open (readKeysAhead).
 * @type {Map<string, Promise<{secret: string, epoch: number}[]>>}
 */
const readAhead = new Map();

/** @type {Promise<IDBDatabase> | null} */
let opening = null;

function database() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "room_id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

/**
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} op
 * @returns {Promise<T>}
 */
async function withStore(mode, op) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const request = op(db.transaction(STORE, mode).objectStore(STORE));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The key text of an invite link's fragment, or null (a room without encryption). @param {string} hash */
export function linkKeyText(hash) {
  const raw = hash.replace(/^#/, "");
  const dot = raw.indexOf(".");
  return dot < 0 ? null : raw.slice(dot + 1).trim() || null;
}

/**
 * Keep a room's key (epoch 0: the key an invite link or the room's creation gives).
 * @param {string} roomId
 * @param {string} keyText
 */
export async function saveRoomKey(roomId, keyText) {
  held.set(roomId, keyText);
  await saveRoomKeys(roomId, [{ secret: keyText, epoch: 0 }]);
}

/**
 * Keep more of a room's keys (a rotation's, unwrapped), beside the ones kept. A key
 * kept under a lower epoch takes the higher one: an invite link made after a rotation
 * carries the current key, which its joiner keeps as epoch 0 until a wrap names its
 * epoch. The newest epoch is the current key.
 * @param {string} roomId
 * @param {{secret: string, epoch: number}[]} keys
 */
export async function saveRoomKeys(roomId, keys) {
  if (!globalThis.indexedDB) return;
  try {
    /** secret → epoch @type {Map<string, number>} */
    const merged = new Map();
    for (const k of [...(await loadRoomKeys(roomId)), ...keys]) {
      merged.set(k.secret, Math.max(k.epoch, merged.get(k.secret) ?? 0));
    }
    const all = Array.from(merged, ([secret, epoch]) => ({ secret, epoch }));
    /** @type {KeyRecord} */
    const record = { room_id: roomId, keys: all };
    await withStore("readwrite", (store) => store.put(record));
  } catch (err) {
    debug("e2e", "room key not kept on the device", err);
  }
}

/**
 * Every key of the room this device keeps (empty: none, or no IndexedDB).
 * @param {string} roomId
 * @returns {Promise<{secret: string, epoch: number}[]>}
 */
export async function loadRoomKeys(roomId) {
  if (!globalThis.indexedDB) return [];
  try {
    const record = /** @type {KeyRecord | undefined} */ (await withStore("readonly", (store) => store.get(roomId)));
    return record?.keys ?? [];
  } catch (err) {
    debug("e2e", "room keys unreadable", err);
    return [];
  }
}

/**
 * Start reading a room's kept keys now, for the room page about to open it (roomKeyring
 * takes the read). The page that joined or created the room calls it as the join is
 * answered: the read (and a profile's first IndexedDB open, slow on a busy machine) then
 * overlaps the socket's handshake and the room page's loading, instead of holding up the
 * room's start, which waits for its keys. Issued before the handed key's write, it does
 * not queue behind that write's commit either.
 * @param {string} roomId
 */
export function readKeysAhead(roomId) {
  if (!readAhead.has(roomId)) readAhead.set(roomId, loadRoomKeys(roomId));
}

/**
 * The room's current key text (null when this device has none) and every key it keeps,
 * from one read: the one read ahead for this room, or a new one.
 * @param {string} roomId
 * @returns {Promise<{current: string | null, kept: {secret: string, epoch: number}[]}>}
 */
export async function roomKeyring(roomId) {
  const ahead = readAhead.get(roomId);
  readAhead.delete(roomId); // once: a room page opened again reads anew
  const kept = await (ahead ?? loadRoomKeys(roomId));
  const now = held.get(roomId) ?? null;
  // A key made by a rotation is newer than the one a link gave this page.
  const newest = kept.length ? kept.reduce((a, b) => (b.epoch > a.epoch ? b : a)) : null;
  if (now && (!newest || newest.epoch === 0)) return { current: now, kept };
  return { current: newest?.secret ?? now, kept };
}

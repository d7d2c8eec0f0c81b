// Local persistence. The outbox (own messages the server has not acknowledged yet) lives
// in IndexedDB so that it survives a reload or a crash; the display name lives in
// localStorage because it is one small string read synchronously at page load.
//
// IndexedDB can be missing or refuse to open (some private-browsing modes): the outbox then
// falls back to memory, so chatting still works, only without surviving a reload.

import { debug } from "./debug.js";

const DB_NAME = "peerlane";
const DB_VERSION = 1;
const OUTBOX = "outbox";
const BY_ROOM = "room";
const NAME_KEY = "peerlane.name";

/**
 * One unsent message, enough to resend it after a reload.
 * @typedef {{
 *   id: string, room_id: string, hlc: string, sender: string, sender_name: string,
 *   kind: import("./protocol.js").ChatKind, ref: number | null, body: unknown, created_at: number,
 * }} OutboxItem
 */

/**
 * What ChatRoom needs from a store (tests inject memoryStore()).
 * @typedef {{
 *   outboxAdd(item: OutboxItem): Promise<void>,
 *   outboxRemove(id: string): Promise<void>,
 *   outboxList(roomId: string): Promise<OutboxItem[]>,
 * }} OutboxStore
 */

/** @type {Promise<IDBDatabase | null> | null} */
let opening = null;
const fallback = memoryStore();

/** @returns {Promise<IDBDatabase | null>}  null when IndexedDB is unavailable */
function database() {
  opening ??= new Promise((resolve) => {
    if (!globalThis.indexedDB) return resolve(null);
    let req;
    try {
      req = indexedDB.open(DB_NAME, DB_VERSION);
    } catch (err) {
      debug("store", "indexedDB.open threw", err);
      return resolve(null);
    }
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore(OUTBOX, { keyPath: "id" });
      store.createIndex(BY_ROOM, "room_id");
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      debug("store", "indexedDB unavailable, outbox kept in memory", req.error);
      resolve(null);
    };
    req.onblocked = () => debug("store", "indexedDB upgrade blocked by another tab");
  });
  return opening;
}

/**
 * Run one request in its own transaction; resolves when the transaction commits.
 * @template T
 * @param {IDBDatabase} db
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} op
 * @returns {Promise<T>}
 */
function run(db, mode, op) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(OUTBOX, mode);
    const req = op(tx.objectStore(OUTBOX));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/**
 * Open the database ahead of use: a browser's first IndexedDB open for a site creates its
 * storage on disk, which can take a good part of a second on a busy machine. The join
 * page calls it while the person reads it (through the room page's prepare()).
 */
export function openOutbox() {
  void database();
}

/** @param {OutboxItem} item */
export async function outboxAdd(item) {
  const db = await database();
  if (!db) return fallback.outboxAdd(item);
  await run(db, "readwrite", (store) => store.put(item));
}

/** @param {string} id */
export async function outboxRemove(id) {
  const db = await database();
  if (!db) return fallback.outboxRemove(id);
  await run(db, "readwrite", (store) => store.delete(id));
}

/**
 * A room's unsent messages in the order they were written.
 * @param {string} roomId
 * @returns {Promise<OutboxItem[]>}
 */
export async function outboxList(roomId) {
  const db = await database();
  if (!db) return fallback.outboxList(roomId);
  const items = await run(db, "readonly", (store) => store.index(BY_ROOM).getAll(roomId));
  return sortByHlc(/** @type {OutboxItem[]} */ (items));
}

/** @type {OutboxStore} */
export const indexedDbStore = { outboxAdd, outboxRemove, outboxList };

/**
 * An outbox in memory: the fallback, and the store tests inject.
 * @returns {OutboxStore & {items: Map<string, OutboxItem>}}
 */
export function memoryStore() {
  /** @type {Map<string, OutboxItem>} */
  const items = new Map();
  return {
    items,
    async outboxAdd(item) {
      items.set(item.id, structuredClone(item));
    },
    async outboxRemove(id) {
      items.delete(id);
    },
    async outboxList(roomId) {
      return sortByHlc([...items.values()].filter((i) => i.room_id === roomId).map((i) => structuredClone(i)));
    },
  };
}

/**
 * @param {OutboxItem[]} items
 * @returns {OutboxItem[]}
 */
function sortByHlc(items) {
  return items.sort((a, b) => (a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : 0));
}

// ---- display name ---------------------------------------------------------------------

/** @returns {string}  the remembered display name, or "" */
export function loadName() {
  try {
    return globalThis.localStorage?.getItem(NAME_KEY) ?? "";
  } catch {
    return "";
  }
}

/** @param {string} name */
export function saveName(name) {
  try {
    globalThis.localStorage?.setItem(NAME_KEY, name.trim());
  } catch {
    // storage blocked or full: the name is just not remembered
  }
}

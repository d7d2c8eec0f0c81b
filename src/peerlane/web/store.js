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
  opening ??= openDatabase(
    DB_NAME,
    DB_VERSION,
    (db) => {
      db.createObjectStore(OUTBOX, { keyPath: "id" }).createIndex(BY_ROOM, "room_id");
    },
    { what: "outbox", giveUpWhenBlocked: false },
  );
  return opening;
}

/**
 * Open an IndexedDB database of this client; null when IndexedDB is missing or refuses
 * (some private-browsing modes): the caller falls back to memory.
 * @param {string} name
 * @param {number} version
 * @param {(db: IDBDatabase) => void} upgrade  creates its stores
 * @param {{what: string, giveUpWhenBlocked: boolean}} options
 *   what: what is kept there, for the debug log.
 *   giveUpWhenBlocked: another tab holds an older version open: null at once instead of
 *   waiting for that tab.
 * @returns {Promise<IDBDatabase | null>}
 */
export function openDatabase(name, version, upgrade, { what, giveUpWhenBlocked }) {
  return new Promise((resolve) => {
    if (!globalThis.indexedDB) return resolve(null);
    let req;
    try {
      req = indexedDB.open(name, version);
    } catch (err) {
      debug("store", "indexedDB.open threw", err);
      return resolve(null);
    }
    req.onupgradeneeded = () => upgrade(req.result);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      debug("store", `indexedDB unavailable, ${what} kept in memory`, req.error);
      resolve(null);
    };
    req.onblocked = () => {
      debug("store", `indexedDB upgrade for ${what} blocked by another tab`);
      if (giveUpWhenBlocked) resolve(null);
    };
  });
}

/**
 * Run one request in its own transaction; resolves when the transaction commits.
 * @template T
 * @param {IDBDatabase} db
 * @param {string} storeName
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} op
 * @returns {Promise<T>}
 */
export function runInStore(db, storeName, mode, op) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const req = op(tx.objectStore(storeName));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/**
 * @template T
 * @param {IDBDatabase} db
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} op
 * @returns {Promise<T>}
 */
const run = (db, mode, op) => runInStore(db, OUTBOX, mode, op);

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

/**
 * Drop a room's unsent messages (the person is out of the room for good: they have
 * nowhere to go).
 * @param {string} roomId
 */
export async function outboxForget(roomId) {
  const db = await database();
  if (!db) {
    for (const item of await fallback.outboxList(roomId)) await fallback.outboxRemove(item.id);
    return;
  }
  await run(db, "readwrite", (store) => {
    const req = store.index(BY_ROOM).getAllKeys(roomId);
    req.onsuccess = () => {
      for (const key of req.result) store.delete(key);
    };
    return req;
  });
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

// Where a receiver keeps files: the bytes in the Origin Private File System, written in
// place as verified blocks arrive (opfs-worker.js; memory stays constant whatever the
// file size), and one manifest per transfer in IndexedDB, so a reload finds both and
// resumes from the first unverified block.
//
// Without OPFS (plain-http LAN pages are not a secure context; some private modes) the
// bytes stay in memory, up to MEMORY_LIMIT; the manifest store falls back to memory when
// IndexedDB is unavailable. Both fallbacks lose their contents on reload.

import { openDatabase, runInStore } from "./store.js";

/**
 * A file being received: positional writes, durable after flush(). write() takes the
 * bytes over (the OPFS store moves a whole ArrayBuffer to its worker: do not reuse it)
 * and resolves with a buffer the caller may fill again (the OPFS worker hands the
 * moved one back once written; the memory store copies, so the same one), or null.
 * Reusing block buffers spares a fresh 1 MiB allocation, whose pages the system must
 * fault in and zero, per block.
 * @typedef {{
 *   write(position: number, bytes: Uint8Array): Promise<ArrayBuffer | null>,
 *   flush(): Promise<void>,
 *   close(): Promise<void>,
 * }} PartialWriter
 */

/**
 * @typedef {{
 *   kind: "opfs" | "memory",
 *   open(id: string, size: number): Promise<PartialWriter>,
 *   file(id: string, name: string, type: string): Promise<File>,
 *   remove(id: string): Promise<void>,
 *   free?(): Promise<number | null>,
 * }} PartialStore
 *   free(): bytes still available to this origin, null when unknown.
 */

/**
 * A transfer as persisted (the engine's record, see transfer.js); `id` and `room` are
 * the keys this module relies on.
 * @typedef {{id: string, room: string} & Record<string, unknown>} Manifest
 */

/**
 * @typedef {{
 *   put(record: Manifest): Promise<void>,
 *   get(id: string): Promise<Manifest | undefined>,
 *   remove(id: string): Promise<void>,
 *   list(roomId: string): Promise<Manifest[]>,
 * }} ManifestStore
 */

export const MEMORY_LIMIT = 1024 * 1024 * 1024;

// ---- partial files --------------------------------------------------------------------

/** OPFS with a sync-access-handle worker, if this browser has both. */
export function opfsAvailable() {
  const storage = /** @type {Partial<StorageManager> | undefined} */ (globalThis.navigator?.storage);
  return Boolean(
    globalThis.isSecureContext &&
      typeof storage?.getDirectory === "function" &&
      typeof globalThis.Worker === "function",
  );
}

/** The best store this browser offers. @returns {PartialStore} */
export function defaultPartialStore() {
  return opfsAvailable() ? opfsStore() : memoryStore();
}

/** @returns {PartialStore} */
export function opfsStore() {
  /** @type {Worker | null} */
  let worker = null;
  let seq = 0;
  /** @type {Map<number, {resolve: (data: ArrayBuffer | null) => void, reject: (err: Error) => void}>} */
  const waiting = new Map();

  /**
   * @param {Record<string, unknown>} msg
   * @param {Transferable[]} [transfer]
   * @returns {Promise<ArrayBuffer | null>}  the buffer of a write, handed back
   */
  function call(msg, transfer = []) {
    if (!worker) {
      worker = new Worker(new URL("./opfs-worker.js", import.meta.url), { type: "module" });
      worker.onmessage = (ev) => {
        const entry = waiting.get(ev.data.seq);
        waiting.delete(ev.data.seq);
        if (ev.data.ok) entry?.resolve(ev.data.data ?? null);
        else entry?.reject(new Error(ev.data.error));
      };
    }
    const id = ++seq;
    const w = worker;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      w.postMessage({ ...msg, seq: id }, transfer);
    });
  }

  return {
    kind: "opfs",
    async open(id) {
      await call({ op: "open", id });
      return {
        write(position, bytes) {
          // A whole buffer moves to the worker without a copy (and is detached here);
          // a view into a larger one is copied.
          const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
          const data = whole ? bytes.buffer : bytes.slice().buffer;
          return call({ op: "write", id, position, data }, [data]);
        },
        flush: async () => void (await call({ op: "flush", id })),
        close: async () => void (await call({ op: "close", id })),
      };
    },
    async file(id, name, type) {
      await call({ op: "close", id }); // a file with an open sync handle cannot be read
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("transfers");
      const file = await (await dir.getFileHandle(id)).getFile();
      return new File([file], name, { type }); // disk-backed: no copy into memory
    },
    remove: async (id) => void (await call({ op: "remove", id })),
    free: storageFree,
  };
}

/** @returns {Promise<number | null>} */
async function storageFree() {
  try {
    const { quota, usage } = await navigator.storage.estimate();
    return quota === undefined || usage === undefined ? null : quota - usage;
  } catch {
    return null;
  }
}

/**
 * Bytes in memory, block-sized pieces by position (tests, and browsers without OPFS).
 * @param {{limit?: number}} [options]
 * @returns {PartialStore & {data: Map<string, Map<number, Uint8Array>>}}
 */
export function memoryStore({ limit = MEMORY_LIMIT } = {}) {
  /** @type {Map<string, Map<number, Uint8Array>>} */
  const data = new Map();
  const used = () =>
    [...data.values()].reduce((n, parts) => n + [...parts.values()].reduce((m, p) => m + p.length, 0), 0);
  return {
    kind: "memory",
    data,
    async open(id) {
      if (!data.has(id)) data.set(id, new Map());
      const parts = /** @type {Map<number, Uint8Array>} */ (data.get(id));
      return {
        async write(position, bytes) {
          if (!data.has(id)) throw new Error("removed");
          parts.set(position, bytes.slice());
          return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
            ? /** @type {ArrayBuffer} */ (bytes.buffer)
            : null;
        },
        async flush() {},
        async close() {},
      };
    },
    async file(id, name, type) {
      const parts = [...(data.get(id) ?? new Map()).entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
      return new File(parts, name, { type });
    },
    async remove(id) {
      data.delete(id);
    },
    async free() {
      return limit - used();
    },
  };
}

// ---- manifests ------------------------------------------------------------------------

const DB_NAME = "peerlane-transfers";
const STORE = "transfers";

/** @type {Promise<IDBDatabase | null> | null} */
let opening = null;

/** @returns {Promise<IDBDatabase | null>} */
function database() {
  opening ??= openDatabase(
    DB_NAME,
    1,
    (db) => db.createObjectStore(STORE, { keyPath: "id" }).createIndex("room", "room"),
    {
      what: "transfers",
      giveUpWhenBlocked: true, // do not keep the room waiting for another tab
    },
  );
  return opening;
}

/**
 * @template T
 * @param {IDBDatabase} db
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} op
 * @returns {Promise<T>}
 */
const run = (db, mode, op) => runInStore(db, STORE, mode, op);

/** Open the transfers' database ahead of use (see openOutbox in store.js). */
export function openManifests() {
  void database();
}

/** @returns {ManifestStore} */
export function indexedDbManifests() {
  const fallback = memoryManifests();
  return {
    async put(record) {
      const db = await database();
      if (!db) return fallback.put(record);
      await run(db, "readwrite", (s) => s.put(record));
    },
    async get(id) {
      const db = await database();
      if (!db) return fallback.get(id);
      return run(db, "readonly", (s) => s.get(id));
    },
    async remove(id) {
      const db = await database();
      if (!db) return fallback.remove(id);
      await run(db, "readwrite", (s) => s.delete(id));
    },
    async list(roomId) {
      const db = await database();
      if (!db) return fallback.list(roomId);
      return run(db, "readonly", (s) => s.index("room").getAll(roomId));
    },
  };
}

/** @returns {ManifestStore & {records: Map<string, Manifest>}} */
export function memoryManifests() {
  /** @type {Map<string, Manifest>} */
  const records = new Map();
  return {
    records,
    async put(record) {
      records.set(record.id, structuredClone(record));
    },
    async get(id) {
      const record = records.get(id);
      return record && structuredClone(record);
    },
    async remove(id) {
      records.delete(id);
    },
    async list(roomId) {
      return [...records.values()].filter((r) => r.room === roomId).map((r) => structuredClone(r));
    },
  };
}

// ---- handing a file to the person ------------------------------------------------------

/**
 * Offer a file for download through a temporary <a download> with an object URL (of a
 * disk-backed OPFS File: nothing is read into memory).
 * @param {File} file
 * @param {string} name  display name; a folder path keeps only its last part
 */
export function offerDownload(file, name) {
  const url = URL.createObjectURL(file);
  const a = document.createElement("a");
  a.href = url;
  a.download = name.split("/").pop() || "download";
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started reading the URL by then; keep it a while for slow starts.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

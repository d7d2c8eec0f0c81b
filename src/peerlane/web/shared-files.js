// Files shared into peerlane from another app (the Web Share Target of the manifest): the
// service worker (sw.js) takes the POST /share-target the system share sheet makes, keeps
// its files here (IndexedDB "peerlane-shared": a File survives structured cloning) and
// sends the page to /?shared=1, where the person chooses one of this device's rooms; the
// room page then takes the files and asks whom to send them to. The worker writes with a
// copy of keepSharedFiles (a service worker cannot import modules): keep the names in step.

const DB_NAME = "peerlane-shared";
const INBOX = "inbox";
const KEY = "pending";
/** The query that says "shared files wait" (the home page, then the room page). */
export const SHARED_PARAM = "shared";

/** @returns {Promise<IDBDatabase>} */
function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(INBOX);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * One request in its own transaction.
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} op
 * @returns {Promise<T>}
 */
async function run(mode, op) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(INBOX, mode);
      const req = op(tx.objectStore(INBOX));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/**
 * Keep shared files for the page (the last share replaces one not sent yet).
 * @param {File[]} files
 */
export async function keepSharedFiles(files) {
  await run("readwrite", (store) => store.put({ files, at: Date.now() }, KEY));
}

/**
 * The shared files waiting, if any, without taking them.
 * @returns {Promise<File[]>}
 */
export async function sharedFiles() {
  if (!globalThis.indexedDB) return [];
  const kept = /** @type {{files: File[]} | undefined} */ (await run("readonly", (store) => store.get(KEY)));
  return kept?.files ?? [];
}

/**
 * Take the shared files waiting (they are forgotten here).
 * @returns {Promise<File[]>}
 */
export async function takeSharedFiles() {
  const files = await sharedFiles();
  if (files.length) await run("readwrite", (store) => store.delete(KEY));
  return files;
}

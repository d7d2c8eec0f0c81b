// This device's identity key pair and what it remembers of other members' identity keys
// (docs/protocol.md, "Identity keys and rotation on the server"), in IndexedDB
// (`peerlane-identity`): the X25519 pair is made once per browser profile, its private
// half a non-extractable CryptoKey (IndexedDB keeps CryptoKeys as they are), and
// published to each room the device opens. Per room and member, the key first seen and
// whether this person marked it verified (e2e/member-keys.js decides what a change means).

import { debug } from "../debug.js";
import { generateIdentity, publicBytes } from "./identity.js";
import { b64uEncode } from "./scheme.js";

const DB_NAME = "peerlane-identity";
const DEVICE = "device";
const MEMBERS = "members";

/** @typedef {import("./identity.js").Identity} Identity */
/** @typedef {import("./member-keys.js").KnownKey} KnownKey */
/** @typedef {{identity: Identity, publicKey: import("./scheme.js").Bytes, publicText: string}} Device */

/** @type {Promise<IDBDatabase> | null} */
let opening = null;
/** @type {Promise<Device> | null} */
let device = null;

function database() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(DEVICE, { keyPath: "id" });
      request.result.createObjectStore(MEMBERS, { keyPath: "id" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

/**
 * @template T
 * @param {string} name
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} op
 * @returns {Promise<T>}
 */
async function withStore(name, mode, op) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const request = op(db.transaction(name, mode).objectStore(name));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function loadOrMake() {
  /** @returns {Promise<Identity | undefined>} */
  const stored = async () => (await withStore(DEVICE, "readonly", (s) => s.get("identity")))?.identity;
  /** @type {Identity | undefined} */
  let identity;
  try {
    identity = await stored();
  } catch (err) {
    debug("e2e", "the device identity is unreadable", err);
  }
  if (!identity) {
    const made = await generateIdentity();
    identity = made;
    try {
      await withStore(DEVICE, "readwrite", (s) => s.add({ id: "identity", identity: made }));
    } catch (err) {
      // Another tab made one first: take that one (else keep this page's, unkept).
      identity = (await stored().catch(() => undefined)) ?? made;
      debug("e2e", "the device identity was made elsewhere or is not kept", err);
    }
  }
  const publicKey = await publicBytes(identity.publicKey);
  return { identity, publicKey, publicText: b64uEncode(publicKey) };
}

/** This device's identity (made and kept the first time). @returns {Promise<Device>} */
export function deviceIdentity() {
  const made = device ?? loadOrMake();
  device = made;
  return made;
}

/**
 * What this device remembers of a room's members' keys.
 * @param {string} roomId
 * @returns {Promise<Map<string, KnownKey>>}  participant id → what is known
 */
export async function loadKnownKeys(roomId) {
  /** @type {Map<string, KnownKey>} */
  const out = new Map();
  try {
    const range = IDBKeyRange.bound(`${roomId}/`, `${roomId}/\uffff`);
    /** @type {(KnownKey & {id: string})[]} */
    const rows = await withStore(MEMBERS, "readonly", (s) => s.getAll(range));
    for (const { id, ...known } of rows) out.set(id.slice(roomId.length + 1), known);
  } catch (err) {
    debug("e2e", "known member keys unreadable", err);
  }
  return out;
}

/**
 * @param {string} roomId
 * @param {string} participantId
 * @param {KnownKey} known
 */
export async function saveKnownKey(roomId, participantId, known) {
  try {
    await withStore(MEMBERS, "readwrite", (s) => s.put({ id: `${roomId}/${participantId}`, ...known }));
  } catch (err) {
    debug("e2e", "a member's key is not remembered", err);
  }
}

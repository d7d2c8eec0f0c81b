// End-to-end encrypted transfers (docs/protocol.md, "End-to-end encryption" → "Files"):
// in an encrypted room each file gets its own key F, which travels only inside the sealed
// offer; blocks go out sealed (e2e/file-crypto.js) on the data channel and to the server,
// and the receiver opens each one on its own. A room made before encryption sends files
// as before (no key in the offer).

import { sealBlockAway } from "./e2e/block-crypto.js";
import { blockCount, FileKey, SEALED_BLOCK_SIZE, sealedSize } from "./e2e/file-crypto.js";
import { b64uDecode, b64uEncode, KEY_SIZE, randomBytes } from "./e2e/scheme.js";
import { readBlock } from "./integrity.js";

/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */

const KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;

/**
 * A fresh file key (as the offer carries it) for a file sent in `room`, or null when the
 * room is not end-to-end encrypted.
 * @param {{e2e?: {encrypted: boolean} | null}} room
 */
export function newFileKeyText(room) {
  return room.e2e?.encrypted ? b64uEncode(randomBytes(KEY_SIZE)) : null;
}

/** An offer's file key, if it has a well-formed one (32 bytes, canonical base64url). @param {unknown} key */
export function offeredKey(key) {
  if (typeof key !== "string" || !KEY_TEXT.test(key)) return null;
  try {
    return b64uDecode(key).length === KEY_SIZE ? key : null;
  } catch {
    return null; // spare bits set in the last character: not the spelling of any key
  }
}

/** @type {WeakMap<TransferRecord, {text: string, key: Promise<FileKey>}>} */
const keys = new WeakMap();

/**
 * The record's file key, derived once (null: a clear transfer).
 * @param {TransferRecord} record
 * @returns {Promise<FileKey> | null}
 */
export function fileKeyOf(record) {
  if (!record.key) return null;
  const known = keys.get(record);
  if (known?.text === record.key) return known.key;
  const key = FileKey.decode(record.key);
  key.catch(() => {}); // whoever awaits it reports the failure
  keys.set(record, { text: record.key, key });
  return key;
}

/**
 * What goes to the server for a transfer's fallback copy: a clear transfer's file and
 * its name, type and root; an encrypted one's sealed blocks end to end, and nothing
 * about the file but where it goes (the server cannot check a root it may not know: it
 * checks the size, tus offsets and each chunk's checksum, all on ciphertext).
 * @param {TransferRecord} record
 * @param {Blob} file
 * @returns {{body: import("./tus.js").Uploadable, metadata: Record<string, string | null>}}
 */
export function uploadOf(record, file) {
  const key = fileKeyOf(record);
  if (!key) {
    return {
      body: file,
      metadata: { room: record.room, name: record.name, type: record.type, root: record.root, to: record.to },
    };
  }
  return { body: new SealedFile(file, key), metadata: { room: record.room, to: record.to } };
}

/**
 * A file's sealed form, read as tus reads a Blob (size, slice, arrayBuffer): each block
 * read and sealed when a chunk reaches it, the last sealed block kept for the next chunk.
 */
export class SealedFile {
  /**
   * @param {Blob} file
   * @param {Promise<FileKey>} key
   */
  constructor(file, key) {
    this.file = file;
    this.key = key;
    this.count = blockCount(file.size);
    this.size = sealedSize(file.size);
    /** @type {{index: number, bytes: Uint8Array} | null} */
    this._last = null;
  }

  /**
   * @param {number} [start]
   * @param {number} [end]
   */
  slice(start = 0, end = this.size) {
    return { arrayBuffer: () => this._range(start, Math.min(end, this.size)) };
  }

  /**
   * @param {number} start
   * @param {number} end
   * @returns {Promise<ArrayBuffer>}
   */
  async _range(start, end) {
    const out = new Uint8Array(Math.max(0, end - start));
    for (let at = start; at < end; ) {
      const index = Math.floor(at / SEALED_BLOCK_SIZE);
      const sealed = await this._block(index);
      const from = at - index * SEALED_BLOCK_SIZE;
      const take = Math.min(sealed.length - from, end - at);
      out.set(sealed.subarray(from, from + take), at - start);
      at += take;
    }
    return out.buffer;
  }

  /** @param {number} index */
  async _block(index) {
    if (this._last?.index === index) return this._last.bytes;
    const bytes = await sealBlockAway(await this.key, index, this.count, await readBlock(this.file, index));
    this._last = { index, bytes };
    return bytes;
  }
}

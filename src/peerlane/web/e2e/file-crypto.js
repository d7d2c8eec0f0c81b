// End-to-end encrypted files: a per-file key F, its 1 MiB blocks sealed one by one, and
// its clear metadata sealed for a share link. The normative text is docs/protocol.md
// ("End-to-end encryption" → "Files"); peerlane/core/e2e_file.py is the same scheme in
// Python, and tests/vectors/e2e.json pins both (tests/web/e2e-file.test.mjs,
// tests/e2e/test_e2e_vectors.py). A block's nonce comes from its index, so a block can be
// re-sent, fetched by a Range request and checked on its own.

import {
  aesKey,
  b64uDecode,
  b64uEncode,
  bodyPlaintext,
  concat,
  E2EError,
  hkdf,
  INFO_KEY_ID,
  KEY_SIZE,
  KID_SIZE,
  NONCE_SIZE,
  parseEnvelope,
  randomBytes,
  requireLength,
  seal,
  TAG_SIZE,
} from "./scheme.js";

export const INFO_FILE_BLOCK = "peerlane e2e v1 file block";
export const INFO_FILE_METADATA = "peerlane e2e v1 file metadata";
export const BLOCK_SIZE = 1024 * 1024;
export const SEALED_BLOCK_SIZE = BLOCK_SIZE + TAG_SIZE;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
export const FILE_METADATA_AAD = encoder.encode(INFO_FILE_METADATA);

/** @typedef {import("./scheme.js").Bytes} Bytes */

/** One file's key F and its (non-extractable) subkeys. */
export class FileKey {
  /**
   * Use FileKey.fromSecret: the subkeys are derived asynchronously.
   * @param {Bytes} secret
   * @param {string} kid
   * @param {CryptoKey} blockKey
   * @param {CryptoKey} metadataKey
   */
  constructor(secret, kid, blockKey, metadataKey) {
    this.secret = secret;
    this.kid = kid;
    this.blockKey = blockKey;
    this.metadataKey = metadataKey;
  }

  /** @param {Bytes} secret  32 bytes */
  static async fromSecret(secret) {
    requireLength(secret, KEY_SIZE, "a file key");
    const kid = b64uEncode(await hkdf(secret, INFO_KEY_ID, KID_SIZE));
    const blockKey = await aesKey(await hkdf(secret, INFO_FILE_BLOCK));
    const metadataKey = await aesKey(await hkdf(secret, INFO_FILE_METADATA));
    return new FileKey(Uint8Array.from(secret), kid, blockKey, metadataKey);
  }

  /** A fresh random key, one per file sent. */
  static generate() {
    return FileKey.fromSecret(randomBytes(KEY_SIZE));
  }

  /** @param {string} text  43 base64url characters */
  static async decode(text) {
    /** @type {Bytes} */
    let secret;
    try {
      secret = b64uDecode(text);
    } catch {
      throw new E2EError("bad_key", "a file key is 43 base64url characters");
    }
    return FileKey.fromSecret(secret);
  }

  /** The key as it rides in a sealed file body or a share link's fragment. */
  encoded() {
    return b64uEncode(this.secret);
  }
}

/** Blocks of a file of `size` plaintext bytes (an empty file has none). @param {number} size */
export function blockCount(size) {
  if (!Number.isSafeInteger(size) || size < 0) throw new E2EError("malformed", "a file size is not negative");
  return Math.ceil(size / BLOCK_SIZE);
}

/** Ciphertext size of a file of `size` plaintext bytes: a tag per block. @param {number} size */
export function sealedSize(size) {
  return size + TAG_SIZE * blockCount(size);
}

/** The plaintext size of `sealed` ciphertext bytes. @param {number} sealed */
export function plainSize(sealed) {
  const rest = sealed % SEALED_BLOCK_SIZE;
  if (!Number.isSafeInteger(sealed) || sealed < 0 || (rest > 0 && rest <= TAG_SIZE)) {
    throw new E2EError("malformed", "not the size of a sealed file");
  }
  return Math.floor(sealed / SEALED_BLOCK_SIZE) * BLOCK_SIZE + (rest ? rest - TAG_SIZE : 0);
}

/**
 * @param {number} index
 * @param {number} count
 */
function checkIndex(index, count) {
  if (!Number.isSafeInteger(count) || count < 0 || !Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new E2EError("malformed", "a block index is 0 to the block count - 1");
  }
}

/**
 * Every block but the last is whole; the last holds 1 byte to 1 MiB.
 * @param {number} index
 * @param {number} count
 * @param {number} length
 */
function checkLength(index, count, length) {
  if (!(length === BLOCK_SIZE || (index === count - 1 && length > 0 && length < BLOCK_SIZE))) {
    throw new E2EError("malformed", "a block is 1 MiB, the last one 1 byte to 1 MiB");
  }
}

/**
 * Where sealed block `index` sits in the ciphertext of a file of `size` plaintext bytes
 * (a Range request fetches one block on its own).
 * @param {number} index
 * @param {number} size
 * @returns {{offset: number, length: number}}
 */
export function sealedBlockSpan(index, size) {
  checkIndex(index, blockCount(size));
  return { offset: index * SEALED_BLOCK_SIZE, length: Math.min(BLOCK_SIZE, size - index * BLOCK_SIZE) + TAG_SIZE };
}

/** @param {number} value  0 .. 2^53 - 1 */
function u64(value) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** u32(0) || u64(index): unique per block for one file key. @param {number} index */
export function blockNonce(index) {
  return concat(new Uint8Array(4), u64(index));
}

/**
 * The label, the index and the block count: a block moved, or a file cut short or grown,
 * fails to open.
 * @param {number} index
 * @param {number} count
 */
export function blockAad(index, count) {
  return concat(encoder.encode(INFO_FILE_BLOCK), u64(index), u64(count));
}

/**
 * Block `index` of `count` sealed: its ciphertext with the 16-byte tag appended.
 * @param {FileKey} key
 * @param {number} index
 * @param {number} count
 * @param {Uint8Array} plaintext  (not a view of a SharedArrayBuffer)
 */
export function sealBlock(key, index, count, plaintext) {
  return sealBlockWith(key.blockKey, index, count, plaintext);
}

/**
 * sealBlock with the file's block subkey alone (what a worker is handed: block-crypto.js).
 * @param {CryptoKey} blockKey
 * @param {number} index
 * @param {number} count
 * @param {Uint8Array} plaintext
 */
export async function sealBlockWith(blockKey, index, count, plaintext) {
  checkIndex(index, count);
  checkLength(index, count, plaintext.length);
  const params = { name: "AES-GCM", iv: blockNonce(index), additionalData: blockAad(index, count) };
  return new Uint8Array(await crypto.subtle.encrypt(params, blockKey, /** @type {Bytes} */ (plaintext)));
}

/**
 * The plaintext of sealed block `index` of `count`, checked on its own.
 * @param {FileKey} key
 * @param {number} index
 * @param {number} count
 * @param {Uint8Array} sealed  (not a view of a SharedArrayBuffer)
 */
export function openBlock(key, index, count, sealed) {
  return openBlockWith(key.blockKey, index, count, sealed);
}

/**
 * openBlock with the file's block subkey alone.
 * @param {CryptoKey} blockKey
 * @param {number} index
 * @param {number} count
 * @param {Uint8Array} sealed
 */
export async function openBlockWith(blockKey, index, count, sealed) {
  checkIndex(index, count);
  checkLength(index, count, sealed.length - TAG_SIZE);
  const params = { name: "AES-GCM", iv: blockNonce(index), additionalData: blockAad(index, count) };
  try {
    return new Uint8Array(await crypto.subtle.decrypt(params, blockKey, /** @type {Bytes} */ (sealed)));
  } catch {
    throw new E2EError("auth_failed", "tampered, moved, or not a block of this file");
  }
}

/**
 * A file's clear metadata (name, type, size, root) as an envelope only F opens: what a
 * share link's server copy carries instead of a name.
 * @param {FileKey} key
 * @param {unknown} metadata  any JSON value
 * @param {Bytes} [nonce]  random unless given (test vectors)
 */
export function sealFileMetadata(key, metadata, nonce = randomBytes(NONCE_SIZE)) {
  return seal(key.metadataKey, key.kid, nonce, bodyPlaintext(metadata), FILE_METADATA_AAD);
}

/**
 * @param {FileKey} key
 * @param {unknown} envelope
 * @returns {Promise<unknown>}
 */
export async function openFileMetadata(key, envelope) {
  const { kid, nonce, sealed } = parseEnvelope(envelope);
  if (kid !== key.kid) throw new E2EError("wrong_key", "sealed with another file key than the one given");
  /** @type {Uint8Array} */
  let plaintext;
  try {
    const params = { name: "AES-GCM", iv: nonce, additionalData: FILE_METADATA_AAD };
    plaintext = new Uint8Array(await crypto.subtle.decrypt(params, key.metadataKey, sealed));
  } catch {
    throw new E2EError("auth_failed", "tampered, or not this file's metadata");
  }
  try {
    return JSON.parse(strictDecoder.decode(plaintext));
  } catch {
    throw new E2EError("malformed", "the sealed metadata is not UTF-8 JSON");
  }
}

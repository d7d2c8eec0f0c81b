// Identity keys (X25519), wrapping a room key to one member, and safety codes, with
// WebCrypto: docs/protocol.md ("Key wrapping to a member", "Safety codes"); the same as
// peerlane/core/e2e.py, pinned by tests/vectors/e2e.json. The UI that uses them
// (verification, rotation) comes in a later slice of issue #15.

import {
  aesKey,
  b64uDecode,
  b64uEncode,
  concat,
  E2EError,
  fromHex,
  hkdf,
  KEY_SIZE,
  lengthPrefixed,
  MAX_EPOCH,
  NONCE_SIZE,
  RoomKey,
  randomBytes,
  requireLength,
  TAG_SIZE,
  u32,
} from "./scheme.js";

export const PUBLIC_KEY_SIZE = 32;
export const WRAP_VERSION = "w1";
const WRAP_PREFIX = /^w[0-9]+$/;
const EPOCH_TEXT = /^(0|[1-9][0-9]{0,9})$/;
const INFO_WRAP = "peerlane e2e v1 wrap";
const SAFETY_LABEL = new TextEncoder().encode("peerlane e2e v1 safety");
const SAFETY_GROUPS = 6;
const X25519 = { name: "X25519" };
// A PKCS #8 X25519 private key is this prefix and the 32 raw bytes (RFC 8410): WebCrypto
// imports no raw private keys.
const PKCS8_X25519_PREFIX = fromHex("302e020100300506032b656e04220420");

/** @typedef {import("./scheme.js").Bytes} Bytes */
/** @typedef {{privateKey: CryptoKey, publicKey: CryptoKey}} Identity */

/** A new identity (or ephemeral) key pair; the private half never leaves WebCrypto. */
export async function generateIdentity() {
  return /** @type {Identity} */ (await crypto.subtle.generateKey(X25519, false, ["deriveBits"]));
}

/**
 * An identity from its raw private and public bytes (tests, and the CLI's format).
 * @param {Bytes} privateBytes
 * @param {Bytes} publicBytes
 * @returns {Promise<Identity>}
 */
export async function importIdentity(privateBytes, publicBytes) {
  const pkcs8 = concat(PKCS8_X25519_PREFIX, requireLength(privateBytes, KEY_SIZE, "a private key"));
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, X25519, false, ["deriveBits"]);
  return { privateKey, publicKey: await importPublic(publicBytes) };
}

/** @param {Bytes} raw */
async function importPublic(raw) {
  return crypto.subtle.importKey("raw", requireLength(raw, PUBLIC_KEY_SIZE, "a public key"), X25519, true, []);
}

/** @param {CryptoKey} publicKey */
export async function publicBytes(publicKey) {
  return new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
}

/**
 * @param {CryptoKey} privateKey
 * @param {Bytes} publicRaw
 */
async function exchange(privateKey, publicRaw) {
  const publicKey = await importPublic(publicRaw);
  try {
    return new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: publicKey }, privateKey, 256));
  } catch {
    // WebCrypto refuses an all-zero shared secret: a low-order public key.
    throw new E2EError("bad_key", "not a usable X25519 public key");
  }
}

/**
 * @param {string} roomId
 * @param {number} epoch
 * @param {Bytes} ephemeral
 * @param {Bytes} sender
 * @param {Bytes} recipient
 */
function wrapInfo(roomId, epoch, ephemeral, sender, recipient) {
  return concat(new TextEncoder().encode(INFO_WRAP), lengthPrefixed(roomId), u32(epoch), ephemeral, sender, recipient);
}

/**
 * `w1.<epoch>.<ephemeral public>.<nonce>.<sealed key>`: the room key for one member.
 * @param {RoomKey} key
 * @param {{roomId: string, sender: Identity, recipientPublic: Bytes, ephemeral?: Identity, nonce?: Bytes}} to
 *   ephemeral and nonce are fresh unless given (test vectors)
 */
export async function wrapRoomKey(key, to) {
  const nonce = requireLength(to.nonce ?? randomBytes(NONCE_SIZE), NONCE_SIZE, "a nonce");
  const ephemeral = to.ephemeral ?? (await generateIdentity());
  const ephemeralPublic = await publicBytes(ephemeral.publicKey);
  const ikm = concat(
    await exchange(ephemeral.privateKey, to.recipientPublic),
    await exchange(to.sender.privateKey, to.recipientPublic),
  );
  const senderPublic = await publicBytes(to.sender.publicKey);
  const info = wrapInfo(to.roomId, key.epoch, ephemeralPublic, senderPublic, to.recipientPublic);
  const params = { name: "AES-GCM", iv: nonce, additionalData: info };
  const sealed = new Uint8Array(await crypto.subtle.encrypt(params, await aesKey(await hkdf(ikm, info)), key.secret));
  const parts = [String(key.epoch), b64uEncode(ephemeralPublic), b64uEncode(nonce), b64uEncode(sealed)];
  return [WRAP_VERSION, ...parts].join(".");
}

/**
 * @param {string} wrapped
 * @param {{roomId: string, recipient: Identity, senderPublic: Bytes}} from
 */
export async function unwrapRoomKey(wrapped, from) {
  const parts = wrapped.split(".");
  if (!WRAP_PREFIX.test(parts[0])) throw new E2EError("malformed", "not a wrapped key");
  if (parts[0] !== WRAP_VERSION) {
    throw new E2EError("unsupported_version", `wrap version "${parts[0]}" is not "${WRAP_VERSION}"`);
  }
  if (parts.length !== 5 || !EPOCH_TEXT.test(parts[1])) {
    throw new E2EError("malformed", "a wrapped key has five parts and a decimal epoch");
  }
  const epoch = Number(parts[1]);
  const [ephemeralPublic, nonce, sealed] = parts.slice(2).map(b64uDecode);
  if (nonce.length !== NONCE_SIZE || sealed.length !== KEY_SIZE + TAG_SIZE || epoch > MAX_EPOCH) {
    throw new E2EError("malformed", "a wrapped key part has the wrong length or range");
  }
  const ikm = concat(
    await exchange(from.recipient.privateKey, ephemeralPublic),
    await exchange(from.recipient.privateKey, from.senderPublic),
  );
  const recipientPublic = await publicBytes(from.recipient.publicKey);
  const info = wrapInfo(from.roomId, epoch, ephemeralPublic, from.senderPublic, recipientPublic);
  /** @type {Bytes} */
  let secret;
  try {
    const params = { name: "AES-GCM", iv: nonce, additionalData: info };
    secret = new Uint8Array(await crypto.subtle.decrypt(params, await aesKey(await hkdf(ikm, info)), sealed));
  } catch {
    throw new E2EError("auth_failed", "not wrapped for this member, room or epoch by this sender");
  }
  return RoomKey.fromSecret(secret, epoch);
}

/**
 * @param {Bytes} a
 * @param {Bytes} b
 */
function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * Six groups of five digits, the same on both members' screens.
 * @param {Bytes} publicA
 * @param {Bytes} publicB
 */
export async function safetyCode(publicA, publicB) {
  const keys = [
    requireLength(publicA, PUBLIC_KEY_SIZE, "a public key"),
    requireLength(publicB, PUBLIC_KEY_SIZE, "a public key"),
  ].sort(compareBytes);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", concat(SAFETY_LABEL, keys[0], keys[1])));
  const groups = [];
  for (let i = 0; i < SAFETY_GROUPS; i++) {
    let value = 0;
    // 40 bits: past 2^32, so build it with multiplication, not bit shifts.
    for (const byte of digest.subarray(5 * i, 5 * i + 5)) value = value * 256 + byte;
    groups.push(String(value % 100000).padStart(5, "0"));
  }
  return groups.join(" ");
}

// End-to-end encryption: room keys, subkeys and the chat / room-name envelopes, with
// WebCrypto. The normative text is docs/protocol.md ("End-to-end encryption");
// peerlane/core/e2e.py is the same scheme in Python, and tests/vectors/e2e.json pins
// both to the same bytes (tests/web/e2e-scheme.test.mjs, tests/e2e/test_e2e_vectors.py).

export const KEY_SIZE = 32;
export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;
export const KID_SIZE = 8;
export const MAX_EPOCH = 2 ** 32 - 1;
export const ENVELOPE_VERSION = "e2e1";

export const INFO_KEY_ID = "peerlane e2e v1 key id";
export const INFO_CHAT = "peerlane e2e v1 chat";
export const INFO_ROOM_NAME = "peerlane e2e v1 room name";

const ENVELOPE_PREFIX = /^e2e[0-9]+$/;
const B64U = /^[A-Za-z0-9_-]*$/;
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** Bytes WebCrypto takes (not a view of a SharedArrayBuffer). @typedef {Uint8Array<ArrayBuffer>} Bytes */

/** @typedef {"malformed" | "unsupported_version" | "wrong_key" | "auth_failed" | "bad_key"} E2EErrorCode */

/** A value that cannot be sealed or opened; `code` says why (docs/protocol.md, "Errors"). */
export class E2EError extends Error {
  /**
   * @param {E2EErrorCode} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = "E2EError";
    this.code = code;
  }
}

/** @param {Bytes} bytes */
export function b64uEncode(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Strict base64url without padding: the one spelling b64uEncode gives.
 * @param {string} text
 */
export function b64uDecode(text) {
  if (!B64U.test(text) || text.length % 4 === 1) throw new E2EError("malformed", "not base64url");
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  if (b64uEncode(bytes) !== text) throw new E2EError("malformed", "not canonical base64url");
  return bytes;
}

/** @param {Bytes} bytes */
export function toHex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** @param {string} hex */
export function fromHex(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/** @param {...Bytes} parts */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** @param {number} value  0 .. 2^32 - 1 */
export function u32(value) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** u32(length) || UTF-8 bytes: fields that can never run into each other. @param {string} text */
export function lengthPrefixed(text) {
  const bytes = encoder.encode(text);
  return concat(u32(bytes.length), bytes);
}

/**
 * @param {Bytes} value
 * @param {number} size
 * @param {string} what
 */
export function requireLength(value, size, what) {
  if (value.length !== size) throw new E2EError("bad_key", `${what} must be ${size} bytes`);
  return value;
}

/**
 * HKDF-SHA256 with an empty salt.
 * @param {Bytes} ikm
 * @param {string | Bytes} info
 * @param {number} length  bytes
 */
export async function hkdf(ikm, info, length = KEY_SIZE) {
  const base = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const label = typeof info === "string" ? encoder.encode(info) : info;
  const params = { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: label };
  return new Uint8Array(await crypto.subtle.deriveBits(params, base, length * 8));
}

/** @param {Bytes} raw */
export function aesKey(raw) {
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Fresh random bytes (nonces, keys). @param {number} size */
export function randomBytes(size) {
  return crypto.getRandomValues(new Uint8Array(size));
}

/** One epoch's room key, its key id and its (non-extractable) subkeys. */
export class RoomKey {
  /**
   * Use RoomKey.fromSecret: the subkeys are derived asynchronously.
   * @param {Bytes} secret
   * @param {number} epoch
   * @param {string} kid
   * @param {CryptoKey} chatKey
   * @param {CryptoKey} nameKey
   */
  constructor(secret, epoch, kid, chatKey, nameKey) {
    this.secret = secret;
    this.epoch = epoch;
    this.kid = kid;
    this.chatKey = chatKey;
    this.nameKey = nameKey;
  }

  /**
   * @param {Bytes} secret  32 bytes
   * @param {number} [epoch]
   */
  static async fromSecret(secret, epoch = 0) {
    requireLength(secret, KEY_SIZE, "a room key");
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) {
      throw new E2EError("bad_key", "a key epoch is 0 to 2**32 - 1");
    }
    const kid = b64uEncode(await hkdf(secret, INFO_KEY_ID, KID_SIZE));
    const chatKey = await aesKey(await hkdf(secret, INFO_CHAT));
    const nameKey = await aesKey(await hkdf(secret, INFO_ROOM_NAME));
    return new RoomKey(Uint8Array.from(secret), epoch, kid, chatKey, nameKey);
  }

  /** A new random key (a new room, or a rotation). @param {number} [epoch] */
  static generate(epoch = 0) {
    return RoomKey.fromSecret(randomBytes(KEY_SIZE), epoch);
  }

  /**
   * @param {string} text  43 base64url characters (an invite fragment's key)
   * @param {number} [epoch]
   */
  static async decode(text, epoch = 0) {
    /** @type {Bytes} */
    let secret;
    try {
      secret = b64uDecode(text);
    } catch {
      throw new E2EError("bad_key", "a room key is 43 base64url characters");
    }
    if (secret.length !== KEY_SIZE) throw new E2EError("bad_key", "a room key is 43 base64url characters");
    return RoomKey.fromSecret(secret, epoch);
  }

  /** The key as it rides in an invite fragment. */
  encoded() {
    return b64uEncode(this.secret);
  }
}

/**
 * What a chat body is bound to: room, sender's participant id, and the id of the message
 * whose content it is (an edit's: the edited message's id).
 * @param {string} roomId
 * @param {string} sender
 * @param {string} contentId
 */
export function chatAad(roomId, sender, contentId) {
  return concat(encoder.encode(INFO_CHAT), lengthPrefixed(roomId), lengthPrefixed(sender), lengthPrefixed(contentId));
}

export const ROOM_NAME_AAD = encoder.encode(INFO_ROOM_NAME);

/** The bytes a chat body seals: its JSON, UTF-8. @param {unknown} body */
export function bodyPlaintext(body) {
  return encoder.encode(JSON.stringify(body));
}

/**
 * The envelope `e2e1.<kid>.<nonce>.<ciphertext>`.
 * @param {CryptoKey} subkey
 * @param {string} kid
 * @param {Bytes} nonce
 * @param {Bytes} plaintext
 * @param {Bytes} aad
 */
export async function seal(subkey, kid, nonce, plaintext, aad) {
  requireLength(nonce, NONCE_SIZE, "a nonce");
  const params = { name: "AES-GCM", iv: nonce, additionalData: aad };
  const sealed = new Uint8Array(await crypto.subtle.encrypt(params, subkey, plaintext));
  return [ENVELOPE_VERSION, kid, b64uEncode(nonce), b64uEncode(sealed)].join(".");
}

/** True for a value that claims to be sealed (any version): never show it as text. @param {unknown} value */
export function isEnvelope(value) {
  return typeof value === "string" && ENVELOPE_PREFIX.test(value.split(".")[0]);
}

/**
 * @param {unknown} value
 * @returns {{kid: string, nonce: Bytes, sealed: Bytes}}
 */
export function parseEnvelope(value) {
  if (typeof value !== "string") throw new E2EError("malformed", "an envelope is a string");
  const parts = value.split(".");
  if (!ENVELOPE_PREFIX.test(parts[0])) throw new E2EError("malformed", "not an end-to-end envelope");
  if (parts[0] !== ENVELOPE_VERSION) {
    throw new E2EError("unsupported_version", `envelope version "${parts[0]}" is not "${ENVELOPE_VERSION}"`);
  }
  if (parts.length !== 4) throw new E2EError("malformed", "an envelope has four parts");
  const [kid, nonce, sealed] = parts.slice(1).map(b64uDecode);
  if (kid.length !== KID_SIZE || nonce.length !== NONCE_SIZE || sealed.length < TAG_SIZE) {
    throw new E2EError("malformed", "an envelope part has the wrong length");
  }
  return { kid: parts[1], nonce, sealed };
}

/** The key id of an envelope, to pick the epoch's key. @param {unknown} value */
export function envelopeKid(value) {
  return parseEnvelope(value).kid;
}

/**
 * @param {RoomKey} key
 * @param {CryptoKey} subkey
 * @param {unknown} envelope
 * @param {Bytes} aad
 */
async function openEnvelope(key, subkey, envelope, aad) {
  const { kid, nonce, sealed } = parseEnvelope(envelope);
  if (kid !== key.kid) throw new E2EError("wrong_key", "sealed with another key than the one given");
  try {
    const params = { name: "AES-GCM", iv: nonce, additionalData: aad };
    return new Uint8Array(await crypto.subtle.decrypt(params, subkey, sealed));
  } catch {
    throw new E2EError("auth_failed", "tampered, or not for this room, sender or message");
  }
}

/** @typedef {{roomId: string, sender: string, contentId: string}} ChatContext */

/**
 * @param {RoomKey} key
 * @param {unknown} body  any JSON value
 * @param {ChatContext} context
 * @param {Bytes} [nonce]  random unless given (test vectors)
 */
export function sealChatBody(key, body, context, nonce = randomBytes(NONCE_SIZE)) {
  const aad = chatAad(context.roomId, context.sender, context.contentId);
  return seal(key.chatKey, key.kid, nonce, bodyPlaintext(body), aad);
}

/**
 * @param {RoomKey} key
 * @param {unknown} envelope
 * @param {ChatContext} context
 * @returns {Promise<unknown>}
 */
export async function openChatBody(key, envelope, context) {
  const aad = chatAad(context.roomId, context.sender, context.contentId);
  const plaintext = await openEnvelope(key, key.chatKey, envelope, aad);
  try {
    return JSON.parse(strictDecoder.decode(plaintext));
  } catch {
    throw new E2EError("malformed", "the sealed body is not UTF-8 JSON");
  }
}

/**
 * @param {RoomKey} key
 * @param {string} name
 * @param {Bytes} [nonce]
 */
export function sealRoomName(key, name, nonce = randomBytes(NONCE_SIZE)) {
  return seal(key.nameKey, key.kid, nonce, encoder.encode(name), ROOM_NAME_AAD);
}

/**
 * @param {RoomKey} key
 * @param {unknown} envelope
 */
export async function openRoomName(key, envelope) {
  const plaintext = await openEnvelope(key, key.nameKey, envelope, ROOM_NAME_AAD);
  try {
    return strictDecoder.decode(plaintext);
  } catch {
    throw new E2EError("malformed", "the sealed name is not UTF-8");
  }
}

/**
 * What follows `#` in an invite link: the token, and the room key if encrypted.
 * @param {string} token
 * @param {RoomKey | null} key
 */
export function inviteFragment(token, key) {
  return key ? `${token}.${key.encoded()}` : token;
}

/**
 * The token and the room key (null: a room without end-to-end encryption) of a link's
 * fragment, with or without its "#".
 * @param {string} fragment
 * @returns {Promise<{token: string, key: RoomKey | null}>}
 */
export async function parseInviteFragment(fragment) {
  const raw = fragment.replace(/^#/, "");
  const dot = raw.indexOf(".");
  if (dot < 0) return { token: raw, key: null };
  return { token: raw.slice(0, dot), key: await RoomKey.decode(raw.slice(dot + 1)) };
}

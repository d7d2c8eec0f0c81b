// CPace (draft-irtf-cfrg-cpace) over ristretto255 with SHA-512, for joining by short code:
// byte for byte the same as peerlane/core/pake.py (docs/protocol.md, "Short codes by
// PAKE"). The joiner is the initiator (A), an online member the responder (B):
//
//   joiner -> member   share Ya
//   member -> joiner   share Yb, confirmation Tb
//   joiner -> member   confirmation Ta
//
// The invite id and both party ids are the channel identifier CI (initiator first), the
// server's attempt id is the session id; ADa and ADb are empty. Group operations come
// from @noble/curves (WebCrypto has no ristretto255 and no hash-to-group), hashes from
// @noble/hashes so that every step is synchronous and works on plain-http LAN pages too.

import { ristretto255, ristretto255_hasher } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha512 } from "@noble/hashes/sha2.js";

const encoder = new TextEncoder();
const DSI = encoder.encode("CPaceRistretto255");
const HASH_BLOCK_BYTES = 128;
export const POINT_BYTES = 32;
export const CONFIRM_BYTES = 64;
export const IDENTITY = new Uint8Array(POINT_BYTES);
const CHANNEL_LABEL = encoder.encode("peerlane-join-v1");
const HANDOVER_INFO = encoder.encode("peerlane pake handover v1");
const SEPARATORS = /[\s\-_.,/]+/;

/** The run cannot give a shared key: a bad share, or the other side's words differ. */
export class PakeFailed extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "PakeFailed";
  }
}

/** @param {Uint8Array[]} parts */
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * `data` with its length in front, LEB128 (7 bits a byte, low bits first).
 * @param {Uint8Array} data
 */
export function prependLen(data) {
  /** @type {number[]} */
  const encoded = [];
  let length = data.length;
  for (;;) {
    const low = length & 0x7f;
    length = Math.floor(length / 128);
    encoded.push(length ? low | 0x80 : low);
    if (!length) return concat(Uint8Array.from(encoded), data);
  }
}

/** @param {Uint8Array[]} parts */
export function lvCat(...parts) {
  return concat(...parts.map(prependLen));
}

/**
 * @param {Uint8Array} prs
 * @param {Uint8Array} ci
 * @param {Uint8Array} sid
 */
export function generatorString(prs, ci, sid) {
  // Zero padding fills SHA-512's first block after DSI and PRS (timing independent of a
  // short password's length).
  const zeroPad = Math.max(0, HASH_BLOCK_BYTES - 1 - prependLen(prs).length - prependLen(DSI).length);
  return lvCat(DSI, prs, new Uint8Array(zeroPad), ci, sid);
}

/**
 * The generator for these words and this channel, as a ristretto255 point.
 * @param {Uint8Array} prs
 * @param {Uint8Array} ci
 * @param {Uint8Array} sid
 */
export function calculateGenerator(prs, ci, sid) {
  // deriveToCurve is RFC 9496's element derivation (libsodium's ristretto255_from_hash);
  // it is optional in the generic hasher type, and always present for ristretto255.
  const derive = /** @type {NonNullable<typeof ristretto255_hasher.deriveToCurve>} */ (
    ristretto255_hasher.deriveToCurve
  );
  return derive(sha512(generatorString(prs, ci, sid)));
}

/** 32 random bytes with the bits above 252 cleared: always below the group order. */
export function sampleScalar() {
  const scalar = crypto.getRandomValues(new Uint8Array(32));
  scalar[31] &= 0x0f;
  return scalar;
}

/** @param {Uint8Array} bytes */
function scalarFromBytes(bytes) {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/**
 * `scalar * point` (point encoded); IDENTITY when the point does not decode or the product
 * is the neutral element (the draft's scalar_mult_vfy).
 * @param {Uint8Array} scalar
 * @param {Uint8Array} point
 */
export function scalarMult(scalar, point) {
  let decoded;
  try {
    decoded = ristretto255.Point.fromBytes(point);
  } catch {
    return IDENTITY;
  }
  return multiply(scalar, decoded);
}

/**
 * @param {Uint8Array} scalar
 * @param {InstanceType<typeof ristretto255.Point>} point
 */
function multiply(scalar, point) {
  const product = point.multiplyUnsafe(scalarFromBytes(scalar));
  return product.is0() ? IDENTITY : product.toBytes();
}

/**
 * @param {Uint8Array} ya
 * @param {Uint8Array} ada
 * @param {Uint8Array} yb
 * @param {Uint8Array} adb
 */
export function transcriptIr(ya, ada, yb, adb) {
  return concat(lvCat(ya, ada), lvCat(yb, adb));
}

/**
 * @param {Uint8Array} sid
 * @param {Uint8Array} k
 * @param {Uint8Array} transcript
 */
export function intermediateSessionKey(sid, k, transcript) {
  return sha512(concat(lvCat(concat(DSI, encoder.encode("_ISK")), sid, k), transcript));
}

/**
 * CI: the invite and both parties, the initiator (joiner) first.
 * @param {string} inviteId
 * @param {string} joinerId
 * @param {string} memberId
 */
export function channelIdentifier(inviteId, joinerId, memberId) {
  return lvCat(CHANNEL_LABEL, ...[inviteId, joinerId, memberId].map((s) => encoder.encode(s)));
}

/**
 * PRS: the secret words in one spelling (as core/codes.py's normal_words), UTF-8.
 * @param {string} words
 */
export function passwordBytes(words) {
  const parts = words.trim().toLowerCase().split(SEPARATORS).filter(Boolean);
  return encoder.encode(parts.join("-"));
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * @typedef {{isk: Uint8Array, handoverKey: Uint8Array}} PakeKeys
 * @typedef {{inviteId: string, joinerId: string, memberId: string, sid: Uint8Array}} PakeChannel
 */

/**
 * @param {Uint8Array} sid
 * @param {Uint8Array} isk
 * @returns {{macKey: Uint8Array, keys: PakeKeys}}
 */
function deriveKeys(sid, isk) {
  const macKey = sha512(concat(encoder.encode("CPaceMac"), sid, isk));
  return { macKey, keys: { isk, handoverKey: hkdf(sha512, isk, sid, HANDOVER_INFO, 32) } };
}

/** @param {Uint8Array} macKey @param {Uint8Array} share */
function tag(macKey, share) {
  return hmac(sha512, macKey, lvCat(share, new Uint8Array(0)));
}

class Party {
  /**
   * @param {string} words
   * @param {PakeChannel} channel
   * @param {Uint8Array} scalar
   */
  constructor(words, channel, scalar) {
    this.channel = channel;
    this.scalar = scalar;
    const ci = channelIdentifier(channel.inviteId, channel.joinerId, channel.memberId);
    this.share = multiply(scalar, calculateGenerator(passwordBytes(words), ci, channel.sid));
  }

  /**
   * @param {Uint8Array} theirs
   * @param {Uint8Array} ya
   * @param {Uint8Array} yb
   */
  sharedKeys(theirs, ya, yb) {
    const k = scalarMult(this.scalar, theirs);
    if (sameBytes(k, IDENTITY)) throw new PakeFailed("the other side's share is not a valid group element");
    const isk = intermediateSessionKey(this.channel.sid, k, transcriptIr(ya, new Uint8Array(0), yb, new Uint8Array(0)));
    return deriveKeys(this.channel.sid, isk);
  }
}

/** Party A, the person typing the code: `share` goes first, `finish` checks the member. */
export class JoinerPake {
  /**
   * @param {string} words
   * @param {PakeChannel} channel
   * @param {Uint8Array} [scalar] fixed only in tests
   */
  constructor(words, channel, scalar = sampleScalar()) {
    this.party = new Party(words, channel, scalar);
    this.share = this.party.share;
  }

  /**
   * @param {Uint8Array} memberShare
   * @param {Uint8Array} memberConfirm
   * @returns {{confirm: Uint8Array, keys: PakeKeys}}
   */
  finish(memberShare, memberConfirm) {
    const { macKey, keys } = this.party.sharedKeys(memberShare, this.share, memberShare);
    if (!sameBytes(memberConfirm, tag(macKey, memberShare))) throw new PakeFailed("the code does not match");
    return { confirm: tag(macKey, this.share), keys };
  }
}

/** Party B, a member's client answering a joiner: `respond`, then `confirm`. */
export class MemberPake {
  /**
   * @param {string} words
   * @param {PakeChannel} channel
   * @param {Uint8Array} [scalar] fixed only in tests
   */
  constructor(words, channel, scalar = sampleScalar()) {
    this.party = new Party(words, channel, scalar);
    this.share = this.party.share;
    /** @type {{macKey: Uint8Array, joinerShare: Uint8Array, keys: PakeKeys} | null} */
    this.pending = null;
  }

  /** @param {Uint8Array} joinerShare @returns {Uint8Array} the confirmation Tb */
  respond(joinerShare) {
    const { macKey, keys } = this.party.sharedKeys(joinerShare, joinerShare, this.share);
    this.pending = { macKey, joinerShare, keys };
    return tag(macKey, this.share);
  }

  /** @param {Uint8Array} joinerConfirm @returns {PakeKeys} */
  confirm(joinerConfirm) {
    if (!this.pending) throw new PakeFailed("no share from the joiner yet");
    const { macKey, joinerShare, keys } = this.pending;
    if (!sameBytes(joinerConfirm, tag(macKey, joinerShare))) throw new PakeFailed("the code does not match");
    return keys;
  }
}

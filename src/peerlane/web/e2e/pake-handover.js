// The room key as a member hands it to a joiner it admitted by short code
// (docs/protocol.md, "Short codes by PAKE", "The hand-over"): sealed with AES-GCM under
// the PAKE's handover_key, bound to the room and to the joiner, so the server that relays
// it can neither open it nor pass it to anyone else or into another room.
//
//   handover = "h1." || b64u(nonce) || "." || b64u(AES-GCM(handover_key, nonce, K, aad))
//   aad      = "peerlane pake handover v1" || lp(room_id) || lp(joiner participant id)

import {
  aesKey,
  b64uDecode,
  b64uEncode,
  concat,
  E2EError,
  KEY_SIZE,
  lengthPrefixed,
  NONCE_SIZE,
  RoomKey,
  randomBytes,
  requireLength,
} from "./scheme.js";

export const HANDOVER_VERSION = "h1";
const INFO = new TextEncoder().encode("peerlane pake handover v1");

/** @typedef {{roomId: string, joinerId: string}} HandoverContext */

/** @param {HandoverContext} context */
export function handoverAad({ roomId, joinerId }) {
  return concat(INFO, lengthPrefixed(roomId), lengthPrefixed(joinerId));
}

/** @param {Uint8Array} handoverKey */
function key(handoverKey) {
  return aesKey(Uint8Array.from(requireLength(Uint8Array.from(handoverKey), KEY_SIZE, "a hand-over key")));
}

/**
 * Seal the room key (as invite links carry it) for the joiner.
 * @param {Uint8Array} handoverKey  the PAKE's 32-byte handover_key
 * @param {string} keyText  the room key, 43 base64url characters
 * @param {HandoverContext} context
 * @param {Uint8Array} [nonce]  fixed only in tests
 */
export async function sealHandover(handoverKey, keyText, context, nonce = randomBytes(NONCE_SIZE)) {
  const room = await RoomKey.decode(keyText);
  const iv = Uint8Array.from(nonce);
  const params = { name: "AES-GCM", iv, additionalData: handoverAad(context) };
  const sealed = new Uint8Array(await crypto.subtle.encrypt(params, await key(handoverKey), room.secret));
  return `${HANDOVER_VERSION}.${b64uEncode(iv)}.${b64uEncode(sealed)}`;
}

/**
 * The room key text a hand-over carries; E2EError when it was not sealed for this
 * joiner in this room under this key (`auth_failed`) or is not a hand-over (`malformed`).
 * @param {Uint8Array} handoverKey
 * @param {unknown} handover
 * @param {HandoverContext} context
 */
export async function openHandover(handoverKey, handover, context) {
  const parts = typeof handover === "string" ? handover.split(".") : [];
  if (parts.length !== 3) throw new E2EError("malformed", "not a hand-over");
  if (parts[0] !== HANDOVER_VERSION) throw new E2EError("unsupported_version", `unknown hand-over ${parts[0]}`);
  const iv = b64uDecode(parts[1]);
  const sealed = b64uDecode(parts[2]);
  if (iv.length !== NONCE_SIZE) throw new E2EError("malformed", "a hand-over's nonce is 12 bytes");
  let clear;
  try {
    const params = { name: "AES-GCM", iv, additionalData: handoverAad(context) };
    clear = new Uint8Array(await crypto.subtle.decrypt(params, await key(handoverKey), sealed));
  } catch {
    throw new E2EError("auth_failed", "the hand-over does not open with this key, room and joiner");
  }
  return (await RoomKey.fromSecret(clear)).encoded();
}

// Joining an end-to-end encrypted room by its short code (docs/protocol.md, "Short codes
// by PAKE"): the joiner's side of CPace over the pre-join socket /api/join/ws. The
// nameplate goes to the server; the words only into the PAKE. A member's client checks
// them and, when they are right, hands over the room key sealed under the PAKE's key;
// the server adds the participant and answers with a bearer token for the room.

import { ApiError, cookieSession } from "../api.js";
import { ERROR_CODES } from "../protocol.js";
import { JoinerPake, PakeFailed } from "./pake.js";
import { openHandover } from "./pake-handover.js";
import { saveRoomKey } from "./room-keys.js";
import { b64uDecode, b64uEncode } from "./scheme.js";

/** What a refused code says: the PAKE failed on one side or the other. */
export const WRONG_CODE = "That code is not right. Check it with whoever gave it to you and try again.";
const CLOSED_EARLY = "The connection closed before the join finished; try again.";
const BAD_HANDOVER = "The member's client sent a room key that does not open; try again.";
const CODE_SHAPE = /^\s*(\d{1,7})[\s\-_.,/]+(\S.*)$/;

/** @typedef {import("../signaling.js").SocketLike} SocketLike */
/** @typedef {new (url: string) => SocketLike} SocketConstructor */
/**
 * What an admission gives: the room, who the joiner now is, a bearer token for it, and the
 * room's key (as invite links carry it).
 * @typedef {{roomId: string, participantId: string, token: string, sessionExpiresAt: number,
 *   keyText: string}} Admission
 */

/**
 * A code's nameplate and words, or null when it is not shaped like `7-amber-falcon`.
 * @param {string} code
 * @returns {{nameplate: number, words: string} | null}
 */
export function splitCode(code) {
  const found = CODE_SHAPE.exec(code);
  return found ? { nameplate: Number(found[1]), words: found[2] } : null;
}

/** The pre-join socket's URL on this page's origin. @param {{protocol: string, host: string}} where */
export function joinSocketUrl(where) {
  return `${where.protocol === "https:" ? "wss:" : "ws:"}//${where.host}/api/join/ws`;
}

/**
 * Run the joiner's side to its end.
 * @param {{code: string, displayName: string, onWaiting?: () => void, onStarted?: () => void,
 *   WebSocket?: SocketConstructor, url?: string}} options
 *   onWaiting: no member is online (the server said pake.waiting); onStarted: one is.
 * @returns {Promise<Admission>}  rejects with ApiError (code_mismatch for a wrong code)
 */
export function joinByPake({ code, displayName, onWaiting, onStarted, WebSocket, url }) {
  const parts = splitCode(code);
  if (!parts) {
    const shape = "That doesn't look like a room code. It is a number and two words, like 7-amber-falcon.";
    return Promise.reject(new ApiError(422, ERROR_CODES.INVALID_MESSAGE, shape));
  }
  const Socket = WebSocket ?? /** @type {SocketConstructor} */ (/** @type {unknown} */ (globalThis.WebSocket));
  const ws = new Socket(url ?? joinSocketUrl(globalThis.location));
  return new Promise((resolve, reject) => {
    /** @type {JoinerPake | null} */
    let pake = null;
    /** @type {{attempt: string, joiner: string} | null} */
    let start = null;
    /** @type {Uint8Array | null} */
    let handoverKey = null;
    let done = false;
    /** @param {Error} err */
    const fail = (err) => {
      if (done) return;
      done = true;
      ws.close(1000, "done");
      reject(err);
    };
    /** @param {Record<string, unknown>} message */
    const send = (message) => ws.send(JSON.stringify(message));

    /** @param {any} msg */
    const admitted = async (msg) => {
      if (!start || !handoverKey) throw new ApiError(0, ERROR_CODES.INVALID_MESSAGE, CLOSED_EARLY);
      let keyText;
      try {
        keyText = await openHandover(handoverKey, msg.handover, { roomId: msg.room_id, joinerId: start.joiner });
      } catch {
        throw new ApiError(0, ERROR_CODES.INVALID_MESSAGE, BAD_HANDOVER);
      }
      if (msg.participant_id !== start.joiner || typeof msg.token !== "string") {
        throw new ApiError(0, ERROR_CODES.INVALID_MESSAGE, BAD_HANDOVER);
      }
      done = true;
      resolve({
        roomId: msg.room_id,
        participantId: msg.participant_id,
        token: msg.token,
        sessionExpiresAt: msg.session_expires_at,
        keyText,
      });
    };

    /** @param {any} msg */
    const handle = async (msg) => {
      if (msg.type === "pake.waiting") onWaiting?.();
      else if (msg.type === "pake.start") {
        onStarted?.();
        start = { attempt: msg.attempt, joiner: msg.joiner };
        const channel = {
          inviteId: msg.invite,
          joinerId: msg.joiner,
          memberId: msg.member,
          sid: b64uDecode(msg.attempt),
        };
        pake = new JoinerPake(parts.words, channel);
        send({ type: "pake.share", attempt: msg.attempt, share: b64uEncode(Uint8Array.from(pake.share)) });
      } else if (msg.type === "pake.reply" && pake && start) {
        try {
          const { confirm, keys } = pake.finish(b64uDecode(msg.share), b64uDecode(msg.confirm));
          handoverKey = keys.handoverKey;
          send({ type: "pake.confirm", attempt: start.attempt, confirm: b64uEncode(Uint8Array.from(confirm)) });
        } catch (err) {
          if (!(err instanceof PakeFailed)) throw err;
          send({ type: "pake.abort", attempt: start.attempt });
          fail(new ApiError(403, ERROR_CODES.CODE_MISMATCH, WRONG_CODE));
        }
      } else if (msg.type === "pake.admitted") await admitted(msg);
      else if (msg.type === "pake.failed" || msg.type === "error") {
        const error = msg.error ?? {};
        const mismatch = error.code === ERROR_CODES.CODE_MISMATCH;
        fail(
          new ApiError(
            mismatch ? 403 : 0,
            error.code ?? ERROR_CODES.UNAVAILABLE,
            mismatch ? WRONG_CODE : error.message,
          ),
        );
      }
    };

    // Frames are handled one after another: the hand-over opens asynchronously.
    let queue = Promise.resolve();
    ws.onopen = () => send({ type: "pake.open", nameplate: parts.nameplate, display_name: displayName });
    ws.onmessage = (ev) => {
      queue = queue.then(async () => {
        if (done) return;
        try {
          await handle(JSON.parse(String(ev.data)));
        } catch (err) {
          fail(err instanceof ApiError ? err : new ApiError(0, ERROR_CODES.INVALID_MESSAGE, CLOSED_EARLY));
        }
      });
    };
    ws.onclose = () => {
      queue = queue.then(() => fail(new ApiError(0, ERROR_CODES.UNAVAILABLE, CLOSED_EARLY)));
    };
  });
}

/**
 * Join by code with a PAKE, keep the room key, and take the session as this browser's
 * cookie: what POST /api/join answers for a room without encryption.
 * @param {Parameters<typeof joinByPake>[0]} options
 * @returns {Promise<import("../api.js").SessionOut>}
 */
export async function joinEncrypted(options) {
  const admission = await joinByPake(options);
  await saveRoomKey(admission.roomId, admission.keyText);
  return cookieSession(admission.roomId, admission.token);
}

// A member's room answers joins by short code (docs/protocol.md, "Short codes by PAKE"):
// the room socket's pake.* frames go to a PakeAnswerer (e2e/pake-answer.js), loaded on the
// first one (CPace's curve code is not needed by a room nobody joins by code). Kept apart
// from the room's parts so that they stay small and the heavy modules stay unloaded.

import { debug } from "./debug.js";

/** @typedef {import("./protocol.js").PakeInMsg} PakeInMsg */
/** @typedef {import("./protocol.js").PakeOutMsg} PakeOutMsg */

/**
 * The handler of a room's pake.* frames.
 * @param {{
 *   roomId: string,
 *   me: () => string | null,
 *   send: (message: PakeOutMsg) => unknown,
 *   keyText: () => string,
 *   emit: (type: string, detail?: unknown) => void,
 * }} room
 *   me: this member's participant id (the welcome's: a share may come before the room is loaded)
 *   keyText: the room's key as invite links carry it ("" in a room without encryption)
 * @returns {(msg: PakeInMsg) => void}
 */
export function joinAnswers(room) {
  /** @type {Promise<import("./e2e/pake-answer.js").PakeAnswerer> | null} */
  let answerer = null;
  return (msg) => {
    answerer ??= import("./e2e/pake-answer.js").then(
      ({ PakeAnswerer, failureText, inviteWords }) =>
        new PakeAnswerer({
          roomId: room.roomId,
          me: room.me,
          send: room.send,
          keyText: room.keyText,
          wordsFor: (inviteId) => inviteWords(room.roomId, inviteId, room.keyText()),
          onFailure: (note) => room.emit("error", { code: "pake_failures", message: failureText(note) }),
        }),
    );
    // One promise: frames reach the answerer in the order they came.
    answerer.then((a) => a.handle(msg)).catch((err) => debug("pake", "join answers not loaded", err));
  };
}

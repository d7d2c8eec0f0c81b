// Invites after a removal from an encrypted room (docs/security.md, "A removal retires
// the invites"). Every member is shown the live invites, to pass them on: their links,
// which the server admits anyone by, and their codes' words, which any member's client
// answers with the room key. So the removed member knew both, and either would take them
// back in, where the owner's client would then wrap the new key to them like to anyone
// who joins. The owner's client therefore replaces them as it rotates
// (key-rotation.js), in three steps, as the terminal owner does (peer/owner_keys.py):
//
//   before `rotate_to` is posted   make one new invite, its words drawn here and sealed
//                                  under the new key (members who fetch the new key
//                                  find them readable)
//   the rotation was accepted      revoke every other live invite: links and codes
//                                  made before the removal stop working
//   `key_epoch_conflict`           revoke the new invite only: another rotator's epoch
//                                  came first, its new invite must stay, and the
//                                  earlier ones are its to revoke
//
// Revoked before the rotation was won, a losing rotator would revoke the winner's new
// invite and leave the room with no live one.

import { request } from "../api.js";
import { drawWords, sealCodeWords } from "./code-words.js";

/** @typedef {import("./scheme.js").RoomKey} RoomKey */
/** @typedef {(method: string, path: string, body?: unknown) => Promise<any>} Http */
/**
 * The new invite made, and the two ways on from there.
 * @typedef {{made: {id: string}, retire: () => Promise<string[]>, undo: () => Promise<unknown>}} Replacement
 */

/**
 * The first step: the new invite (with words sealed under `key`) made, the earlier ones
 * listed; `retire()` once the rotation was accepted (the ids revoked), `undo()` when it
 * lost to another rotator's.
 * @param {string} roomId
 * @param {RoomKey} key  the new epoch's key
 * @param {Http} [http]
 * @returns {Promise<Replacement>}
 */
export async function replaceInvites(roomId, key, http = request) {
  const path = `/api/rooms/${encodeURIComponent(roomId)}/invites`;
  /** @param {string} id */
  const revoke = (id) => http("DELETE", `${path}/${encodeURIComponent(id)}`);
  const { invites } = /** @type {{invites: {id: string, status: string}[]}} */ (await http("GET", path));
  const made = /** @type {{id: string}} */ (await http("POST", path, {}));
  const sealed = await sealCodeWords(key, roomId, made.id, drawWords());
  await http("PATCH", `${path}/${encodeURIComponent(made.id)}`, { sealed_code: sealed });
  const retire = async () => {
    const revoked = [];
    for (const inv of invites) {
      if (inv.status !== "live" || inv.id === made.id) continue;
      await revoke(inv.id);
      revoked.push(inv.id);
    }
    return revoked;
  };
  return { made, retire, undo: () => revoke(made.id) };
}

/** What the owner is told once a removal has replaced the invites. @param {string} name */
export function invitesReplacedText(name) {
  return `${name} knew this room's invite links and codes: they no longer work. A new invite was made; share it with people still to join.`;
}

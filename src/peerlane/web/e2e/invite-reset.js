// Invites after a removal from an encrypted room (docs/security.md, "A removal retires
// the invites"). Every member is shown the live invites, to pass them on: their links,
// which the server admits anyone by, and their codes' words, which any member's client
// answers with the room key. So the removed member knew both, and either would take them
// back in, where the owner's client would then wrap the new key to them like to anyone
// who joins. The owner's client therefore, as it rotates (before the new epoch is
// posted, so that members who fetch the new key find the new invite readable), makes one
// new invite, its words drawn here and sealed under the new key, and revokes every other
// live invite: links and codes made before the removal stop working.

import { request } from "../api.js";
import { drawWords, sealCodeWords } from "./code-words.js";

/** @typedef {import("./scheme.js").RoomKey} RoomKey */
/** @typedef {(method: string, path: string, body?: unknown) => Promise<any>} Http */

/**
 * @param {string} roomId
 * @param {RoomKey} key  the new epoch's key
 * @param {Http} [http]
 * @returns {Promise<{made: {id: string}, revoked: string[]}>}  the new invite; the ids revoked
 */
export async function replaceInvites(roomId, key, http = request) {
  const path = `/api/rooms/${encodeURIComponent(roomId)}/invites`;
  const { invites } = /** @type {{invites: {id: string, status: string}[]}} */ (await http("GET", path));
  const made = /** @type {{id: string}} */ (await http("POST", path, {}));
  const sealed = await sealCodeWords(key, roomId, made.id, drawWords());
  await http("PATCH", `${path}/${encodeURIComponent(made.id)}`, { sealed_code: sealed });
  const revoked = [];
  for (const inv of invites) {
    if (inv.status !== "live" || inv.id === made.id) continue;
    await http("DELETE", `${path}/${encodeURIComponent(inv.id)}`);
    revoked.push(inv.id);
  }
  return { made, revoked };
}

/** What the owner is told once a removal has replaced the invites. @param {string} name */
export function invitesReplacedText(name) {
  return `${name} knew this room's invite links and codes: they no longer work. A new invite was made; share it with people still to join.`;
}

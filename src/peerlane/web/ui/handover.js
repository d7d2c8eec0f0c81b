// What a page hands to the room page it navigates to in place (no reload): the invite a
// room was created with, so the room page shows it (and its QR code) at once. A small
// module of its own, so the home and join pages need not load the invite panel.

/** @typedef {import("./invite-panel.js").InviteView} InviteView */

/** Invites handed over by the page that created the room, by room id. */
const invites = new Map(/** @type {[string, InviteView][]} */ ([]));

/**
 * Remember the invite a room was created with, so its room page shows it at once.
 * @param {string} roomId
 * @param {InviteView} invite
 */
export function handOverInvite(roomId, invite) {
  invites.set(roomId, invite);
}

/**
 * The invite handed over for a room, once (null when there is none).
 * @param {string} roomId
 * @returns {InviteView | null}
 */
export function takeInvite(roomId) {
  const invite = invites.get(roomId) ?? null;
  invites.delete(roomId);
  return invite;
}

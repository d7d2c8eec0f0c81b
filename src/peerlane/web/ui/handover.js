// What a page hands to the room page it navigates to in place (no reload): the session
// a create or join answered with -- the room, the participant and mesh_limit, what the
// room page would otherwise ask GET /api/rooms/{id} for first -- and the invite a room
// was created with, so the room page shows it (and its QR code) at once. A small module
// of its own, so the home and join pages need not load the room's modules.

/** @typedef {import("./invite-panel.js").InviteView} InviteView */
/** @typedef {import("../api.js").SessionOut} SessionOut */
/** @typedef {import("../api.js").RoomView} RoomView */

/** Sessions handed over by the page that created or joined the room, by room id. */
const sessions = new Map(/** @type {[string, RoomView][]} */ ([]));
/** Invites handed over by the page that created the room, by room id. */
const invites = new Map(/** @type {[string, InviteView][]} */ ([]));

/**
 * Remember what creating or joining a room answered, for its room page (and the invite,
 * when it came with one).
 * @param {SessionOut} out
 */
export function handOverSession(out) {
  const { room, participant, mesh_limit } = out;
  if (out.invite) invites.set(room.id, out.invite);
  // Checked here, so the room page can trust it (or ask the server, without it).
  const valid = typeof room?.id === "string" && typeof participant?.id === "string"
    && typeof participant.name === "string" && Number.isInteger(mesh_limit) && mesh_limit >= 0;
  if (valid) sessions.set(room.id, { room, participant, mesh_limit });
}

/**
 * The session handed over for a room, once (null when there is none).
 * @param {string} roomId
 * @returns {RoomView | null}
 */
export function takeSession(roomId) {
  const view = sessions.get(roomId) ?? null;
  sessions.delete(roomId);
  return view;
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

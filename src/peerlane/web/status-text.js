// The room's connection status in plain words: one wording for the room header, the
// connection panel and ChatRoom.statusText, and the error a room that ended reports.
// Pure: no DOM.

import { ERROR_CODES } from "./protocol.js";

/** Why a room ended for this browser (ChatRoom.ended), in words. */
const ENDED = /** @type {Record<string, string>} */ ({
  unauthorized: "Signed out of this room",
  removed: "Removed from this room",
  room_gone: "This room was deleted",
  unsupported_version: "This page is out of date; reload it",
});

/**
 * The connection status in plain words.
 * @param {string} serverState  "connecting" | "online" | "offline"
 * @param {number} direct       people reached over a data channel
 * @param {string | null} [ended]  why the room ended, if it did
 * @returns {{text: string, tone: string}}
 */
export function statusText(serverState, direct, ended = null) {
  if (ended && ENDED[ended]) return { text: /** @type {string} */ (ENDED[ended]), tone: "bad" };
  const people = direct === 1 ? "1 person" : `${direct} people`;
  if (serverState === "online") {
    return { text: direct > 0 ? `Connected to ${people} directly` : "Connected", tone: "ok" };
  }
  if (serverState === "offline") {
    if (direct > 0) {
      return { text: `Reconnecting to the server — chatting directly with ${people}`, tone: "warn" };
    }
    return { text: "Offline — messages will be sent when the connection returns", tone: "bad" };
  }
  return { text: "Connecting…", tone: "busy" };
}

/**
 * How many people (not tabs) are reached over a data channel of their own, direct or
 * through TURN: what is left of the chat when the server is unreachable.
 * @param {Iterable<{peer_id: string, participant_id?: string, path?: string | null}>} peers
 * @param {string | undefined} me  own participant id (own other tabs do not count)
 * @returns {number}
 */
export function directPeople(peers, me) {
  const people = new Set();
  for (const peer of peers) {
    if ((peer.path === "direct" || peer.path === "turn") && peer.participant_id !== me) {
      people.add(peer.participant_id ?? peer.peer_id);
    }
  }
  return people.size;
}

/**
 * The "error" event a room emits when it ends for this browser, in plain words.
 * @param {string} reason  ChatRoom.ended
 * @returns {{code: string, message: string} | undefined}
 */
export function endedError(reason) {
  return ENDED_ERRORS[reason];
}

/** @type {Record<string, {code: string, message: string}>} */
const ENDED_ERRORS = {
  unauthorized: {
    code: ERROR_CODES.UNAUTHORIZED,
    message: "You are not signed in to this room any more; join it again with an invite.",
  },
  removed: { code: ERROR_CODES.PARTICIPANT_REMOVED, message: "The room's owner removed you from this room." },
  room_gone: { code: ERROR_CODES.ROOM_NOT_FOUND, message: "This room has been deleted." },
  unsupported_version: { code: ERROR_CODES.UNSUPPORTED_VERSION, message: "This page is out of date; reload it." },
};

// The HTTP API (peerlane/server/api.py). Browsers authenticate with the room's HTTP-only
// session cookie, so every call is same-origin with credentials and no token handling.
// Every failure, including "the server cannot be reached", throws an ApiError.

import { ERROR_CODES } from "./protocol.js";

/** @typedef {import("./protocol.js").Role} Role */
/** @typedef {import("./protocol.js").MessageMsg} MessageMsg */

/**
 * @typedef {{max_age: number | null, max_messages: number | null, idle_expiry: number | null}} Retention
 * @typedef {{id: string, name: string, created_at: number, latest_seq: number,
 *   retention: Retention, url: string, key_epoch?: number, history?: "all" | "joined",
 *   moved_at?: number | null, moved_key_id?: string | null}} RoomOut
 * @typedef {{id: string, name: string, role: Role, online: boolean, identity_key?: string | null}} ParticipantOut
 *   identity_key: the X25519 identity public key the participant's device published (b64u)
 * @typedef {{id: string, link: string | null, code: string | null, expires_at: number,
 *   max_uses: number | null, uses: number, status: "live" | "expired" | "revoked" | "exhausted",
 *   qr_svg: string | null, qr_url: string, nameplate?: number | null, sealed_code?: string | null}} InviteOut
 * @typedef {{room: RoomOut, participant: ParticipantOut, mesh_limit: number, token: string | null,
 *   session_expires_at: number, invite: InviteOut | null, returned?: boolean}} SessionOut
 *   returned: the join found this browser's own participant (its live session, the same
 *   name) and answered with it, rather than making a new one
 * @typedef {{room: RoomOut, participant: ParticipantOut, mesh_limit: number}} RoomView
 * @typedef {{messages: MessageMsg[], has_more: boolean}} MessagesPage
 */

export class ApiError extends Error {
  /**
   * @param {number} status  HTTP status; 0 when the server could not be reached
   * @param {string} code  one of ERROR_CODES
   * @param {string} message  written for the person using the app
   * @param {number | null} [retryAfter]  seconds, from a Retry-After header
   */
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// Used when an error response has no peerlane error body (a proxy's 502 page, say).
/** @type {Record<number, string>} */
const CODE_BY_STATUS = {
  400: ERROR_CODES.BAD_REQUEST,
  401: ERROR_CODES.UNAUTHORIZED,
  403: ERROR_CODES.FORBIDDEN,
  404: ERROR_CODES.NOT_FOUND,
  409: ERROR_CODES.DUPLICATE_ID,
  410: ERROR_CODES.INVITE_EXPIRED,
  413: ERROR_CODES.MESSAGE_TOO_LARGE,
  422: ERROR_CODES.INVALID_MESSAGE,
  429: ERROR_CODES.RATE_LIMITED,
};

/**
 * @param {string} method
 * @param {string} path  starting with /api/
 * @param {unknown} [body]  sent as JSON when given
 * @param {{keepalive?: boolean, bearer?: string}} [options]  keepalive: outlive the page (a last
 *   report as it goes); bearer: a session token to send instead of the cookie
 * @returns {Promise<any>}  the parsed JSON body, or null for 204
 */
export async function request(method, path, body, { keepalive = false, bearer } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  /** @type {RequestInit} */
  const init = { method, credentials: "same-origin", keepalive, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, ERROR_CODES.UNAVAILABLE, "Cannot reach the server. Check your connection and try again.");
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

/**
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
async function errorFrom(response) {
  const retry = Number(response.headers.get("retry-after"));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
  let detail = null;
  try {
    detail = (await response.json())?.error;
  } catch {
    // not JSON: fall through to a generic message
  }
  const code =
    typeof detail?.code === "string"
      ? detail.code
      : (CODE_BY_STATUS[response.status] ??
        (response.status >= 500 ? ERROR_CODES.UNAVAILABLE : ERROR_CODES.BAD_REQUEST));
  const message =
    typeof detail?.message === "string"
      ? detail.message
      : `${`The server answered ${response.status} ${response.statusText}`.trim()}.`;
  return new ApiError(response.status, code, message, retryAfter);
}

/** @param {string} roomId */
const roomPath = (roomId) => `/api/rooms/${encodeURIComponent(roomId)}`;

/**
 * @param {Record<string, string | number | null | undefined>} params
 * @returns {string}  "?a=1&b=2", or "" when every value is null/undefined
 */
function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value != null) q.set(key, String(value));
  const s = q.toString();
  return s ? `?${s}` : "";
}

// ---- rooms and sessions ---------------------------------------------------------------

/**
 * Create a room; the creator becomes its owner and gets the session cookie.
 * @param {{display_name: string, name?: string, invite_ttl?: number, invite_max_uses?: number}} options
 * @returns {Promise<SessionOut>}  includes the first invite (with its QR SVG)
 */
export function createRoom(options) {
  return request("POST", "/api/rooms", { ...options, session: "cookie" });
}

/**
 * Join with the token of an invite link (`/join#<token>`) or a short code.
 * @param {{display_name: string, token?: string, code?: string}} options
 * @returns {Promise<SessionOut>}
 */
export function joinRoom(options) {
  return request("POST", "/api/join", { ...options, session: "cookie" });
}

/**
 * Turn a bearer session (a join by code with a PAKE ends with one) into this browser's
 * cookie session for the room: the same session, as the cookie the room page runs on.
 * @param {string} roomId
 * @param {string} token
 * @returns {Promise<SessionOut>}
 */
export function cookieSession(roomId, token) {
  return request("POST", `${roomPath(roomId)}/session`, undefined, { bearer: token });
}

/**
 * The room, who I am in it, and how many peers to connect to directly.
 * @param {string} roomId
 * @returns {Promise<RoomView>}  throws ApiError 401 when this browser has no session
 */
export function getRoom(roomId) {
  return request("GET", roomPath(roomId));
}

/**
 * @param {string} roomId
 * @param {{name?: string, retention?: Partial<Retention>, history?: "all" | "joined"}} patch  owner only
 * @returns {Promise<RoomOut>}
 */
export function updateRoom(roomId, patch) {
  return request("PATCH", roomPath(roomId), patch);
}

/**
 * Mark the room moved to an end-to-end encrypted one (owner only): read-only from now
 * on. Only the new room's key id goes to the server (e2e/room-move.js).
 * @param {string} roomId
 * @param {string} keyId
 * @returns {Promise<RoomOut>}
 */
export function moveRoom(roomId, keyId) {
  return request("POST", `${roomPath(roomId)}/move`, { key_id: keyId });
}

/**
 * Delete the room for everyone (owner only).
 * @param {string} roomId
 * @returns {Promise<null>}
 */
export function deleteRoom(roomId) {
  return request("DELETE", roomPath(roomId));
}

/**
 * Sign this browser out of the room: the server ends its session (and drops the cookie).
 * @param {string} roomId
 * @returns {Promise<null>}
 */
export function leaveRoom(roomId) {
  return request("DELETE", `${roomPath(roomId)}/session`);
}

/**
 * Remove someone from the room (owner only): their sessions end and their sockets close.
 * @param {string} roomId
 * @param {string} participantId
 * @returns {Promise<null>}
 */
export function removeParticipant(roomId, participantId) {
  return request("DELETE", `${roomPath(roomId)}/participants/${encodeURIComponent(participantId)}`);
}

/**
 * @param {string} roomId
 * @returns {Promise<{participants: ParticipantOut[]}>}
 */
export function listParticipants(roomId) {
  return request("GET", `${roomPath(roomId)}/participants`);
}

/**
 * A page of history, oldest first. Neither before nor after: the latest page.
 * @param {string} roomId
 * @param {{before?: number, after?: number, limit?: number}} [options]
 * @returns {Promise<MessagesPage>}
 */
export function getMessages(roomId, { before, after, limit } = {}) {
  return request("GET", `${roomPath(roomId)}/messages${query({ before, after, limit })}`);
}

// ---- invites --------------------------------------------------------------------------

/**
 * The owner sees every invite; members see the live ones.
 * @param {string} roomId
 * @returns {Promise<{invites: InviteOut[]}>}
 */
export function listInvites(roomId) {
  return request("GET", `${roomPath(roomId)}/invites`);
}

/**
 * @param {string} roomId
 * @param {{ttl?: number, max_uses?: number}} [options]  ttl in seconds
 * @returns {Promise<InviteOut>}  with qr_svg
 */
export function createInvite(roomId, options = {}) {
  return request("POST", `${roomPath(roomId)}/invites`, options);
}

/**
 * Extend an invite: a new lifetime from now and/or a new use limit (owner only).
 * @param {string} roomId
 * @param {string} inviteId
 * @param {{ttl?: number, max_uses?: number, unlimited_uses?: boolean, sealed_code?: string}} changes
 * @returns {Promise<InviteOut>}  with qr_svg
 */
export function updateInvite(roomId, inviteId, changes) {
  return request("PATCH", `${roomPath(roomId)}/invites/${encodeURIComponent(inviteId)}`, changes);
}

/**
 * @param {string} roomId
 * @param {string} inviteId
 * @returns {Promise<InviteOut>}
 */
export function revokeInvite(roomId, inviteId) {
  return request("DELETE", `${roomPath(roomId)}/invites/${encodeURIComponent(inviteId)}`);
}

// ---- WebSocket address ----------------------------------------------------------------

/**
 * The room's WebSocket URL on this page's origin: wss: under https:, ws: otherwise.
 * @param {string} roomId
 * @param {{protocol: string, host: string}} [where]  defaults to the page's location
 * @returns {string}
 */
export function roomSocketUrl(roomId, where = globalThis.location) {
  const scheme = where.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${where.host}${roomPath(roomId)}/ws`;
}

/**
 * The functions ChatRoom needs, as one object (tests inject a fake with this shape).
 * @typedef {{
 *   getRoom(roomId: string): Promise<RoomView>,
 *   getMessages(roomId: string, options?: {before?: number, after?: number, limit?: number}): Promise<MessagesPage>,
 * }} RoomApi
 */

/** @type {RoomApi} */
export const roomApi = { getRoom, getMessages };

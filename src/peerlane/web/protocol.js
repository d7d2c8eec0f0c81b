// The wire vocabulary, mirroring peerlane/core/protocol.py and peerlane/errors.py.
// tests/web/test_protocol_mirror.py fails when the two drift apart, so change both together.

export const PROTOCOL_VERSION = 1;

/**
 * The hello as the room socket URL's query (`v=1`, `v=1&last_seq=N&resume=T`): the server
 * says welcome as soon as the socket is up, with no hello frame to wait for.
 * @param {number | null} lastSeq
 * @param {string | null} [resume]  the last welcome's resume token: keep my peer id
 * @returns {string}
 */
export function helloQuery(lastSeq, resume = null) {
  let query = `v=${PROTOCOL_VERSION}`;
  if (lastSeq !== null) query += `&last_seq=${lastSeq}`;
  if (resume !== null) query += `&resume=${encodeURIComponent(resume)}`;
  return query;
}

/** Message types a client sends to the server. */
export const CLIENT_TYPES = Object.freeze(["hello", "chat", "signal", "sync", "typing", "receipt", "ping", "stored"]);

/** Message types the server sends to a client. */
export const SERVER_TYPES = Object.freeze([
  "welcome",
  "presence",
  "message",
  "ack",
  "synced",
  "signal",
  "typing",
  "receipt",
  "pong",
  "stored",
  "error",
  "keys",
]);

/**
 * The join-by-code frames a member's room socket gets (docs/protocol.md, "Short codes by
 * PAKE"): not part of the room protocol proper, so a Signaling dispatches them as "pake".
 */
export const PAKE_MEMBER_TYPES = Object.freeze(["pake.share", "pake.confirm", "pake.abort"]);

/** At most this many ids in one `stored` question (peerlane.core.protocol.MAX_STORED_IDS). */
export const MAX_STORED_IDS = 100;

/** `signal.kind` (peerlane.core.protocol.Signal). */
export const SIGNAL_KINDS = Object.freeze(["offer", "answer", "candidate", "bye"]);

/**
 * `chat.kind` (peerlane.core.protocol.Chat). `ref` names the message replied to ("text"),
 * reacted to ("reaction"), edited ("edit": body = the new body) or deleted ("delete": body null).
 */
export const CHAT_KINDS = Object.freeze(["text", "reaction", "file", "edit", "delete"]);

/** The chat kinds that change an earlier message of the sender's own (docs/protocol.md). */
export const CHANGE_KINDS = Object.freeze(["edit", "delete"]);

/** `t` of the JSON messages on the peer-to-peer "chat" data channel (docs/web-client.md). */
export const PEER_TYPES = Object.freeze(["chat", "ack", "read", "typing", "hello", "moved"]);

/**
 * `body.op` of the chat messages of kind "file" (file-transfer control, docs/file-transfer.md).
 * The server stores these bodies without looking inside.
 */
export const FILE_OPS = Object.freeze(["offer", "accept", "decline", "cancel", "uploaded", "done"]);

/** `t` of the JSON control frames on a `file:<id>` data channel (transfer-wire.js). */
export const TRANSFER_FRAMES = Object.freeze(["want", "bad", "ok", "hashes", "end", "nofile"]);

/** Every error code a client can receive (peerlane.errors.ErrorCode: member name → value). */
export const ERROR_CODES = Object.freeze({
  BAD_REQUEST: "bad_request",
  INVALID_JSON: "invalid_json",
  INVALID_MESSAGE: "invalid_message",
  UNKNOWN_TYPE: "unknown_type",
  UNSUPPORTED_VERSION: "unsupported_version",
  HELLO_REQUIRED: "hello_required",
  UNAUTHORIZED: "unauthorized",
  TOKEN_EXPIRED: "token_expired",
  FORBIDDEN: "forbidden",
  BAD_ORIGIN: "bad_origin",
  NOT_OWNER: "not_owner",
  ROOM_NOT_FOUND: "room_not_found",
  INVITE_NOT_FOUND: "invite_not_found",
  PEER_NOT_FOUND: "peer_not_found",
  NOT_FOUND: "not_found",
  INVITE_EXPIRED: "invite_expired",
  INVITE_REVOKED: "invite_revoked",
  INVITE_EXHAUSTED: "invite_exhausted",
  CODE_RETIRED: "code_retired",
  CODE_MISMATCH: "code_mismatch",
  PAKE_REQUIRED: "pake_required",
  DUPLICATE_ID: "duplicate_id",
  ROOM_FULL: "room_full",
  ROOM_MOVED: "room_moved",
  MESSAGE_TOO_LARGE: "message_too_large",
  BODY_TOO_LARGE: "body_too_large",
  RATE_LIMITED: "rate_limited",
  TOO_MANY_ROOMS: "too_many_rooms",
  TOO_MANY_ATTEMPTS: "too_many_attempts",
  UNAVAILABLE: "unavailable",
  INTERNAL_ERROR: "internal_error",
  PARTICIPANT_REMOVED: "participant_removed",
  NOT_YOUR_MESSAGE: "not_your_message",
  MESSAGE_NOT_FOUND: "message_not_found",
  MESSAGE_DELETED: "message_deleted",
  TELEMETRY_OFF: "telemetry_off",
  KEY_EPOCH_CONFLICT: "key_epoch_conflict",
  UNSUPPORTED_TUS_VERSION: "unsupported_tus_version",
  UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
  INVALID_METADATA: "invalid_metadata",
  UNSUPPORTED_CHECKSUM: "unsupported_checksum",
  OFFSET_MISMATCH: "offset_mismatch",
  UPLOAD_LOCKED: "upload_locked",
  CHECKSUM_MISMATCH: "checksum_mismatch",
  HASH_MISMATCH: "hash_mismatch",
  UPLOAD_NOT_FOUND: "upload_not_found",
  UPLOAD_EXPIRED: "upload_expired",
  UPLOAD_FAILED: "upload_failed",
  UPLOAD_LENGTH_EXCEEDED: "upload_length_exceeded",
  FILE_TOO_LARGE: "file_too_large",
  FILE_NOT_FOUND: "file_not_found",
  SHARE_NOT_FOUND: "share_not_found",
  SHARE_EXPIRED: "share_expired",
  SHARE_EXHAUSTED: "share_exhausted",
  ROOM_QUOTA_EXCEEDED: "room_quota_exceeded",
  SHARE_QUOTA_EXCEEDED: "share_quota_exceeded",
  STORAGE_QUOTA_EXCEEDED: "storage_quota_exceeded",
  STORAGE_FULL: "storage_full",
  RANGE_NOT_SATISFIABLE: "range_not_satisfiable",
  TOO_MANY_SHARES: "too_many_shares",
  INSUFFICIENT_STORAGE: "insufficient_storage",
  TOO_MANY_UPLOADS: "too_many_uploads",
  UPLOAD_ALLOWANCE_EXCEEDED: "upload_allowance_exceeded",
});

/** A chat refused with one of these codes will never be accepted: it becomes "failed". */
export const PERMANENT_CHAT_ERRORS = Object.freeze([
  ERROR_CODES.BODY_TOO_LARGE,
  ERROR_CODES.INVALID_MESSAGE,
  ERROR_CODES.MESSAGE_TOO_LARGE,
  ERROR_CODES.INVALID_JSON,
  ERROR_CODES.UNKNOWN_TYPE,
  ERROR_CODES.NOT_YOUR_MESSAGE,
  ERROR_CODES.MESSAGE_NOT_FOUND,
  ERROR_CODES.MESSAGE_DELETED,
]);

/** A chat refused with one of these codes stays in the outbox and is retried with backoff. */
export const TRANSIENT_CHAT_ERRORS = Object.freeze([
  ERROR_CODES.RATE_LIMITED,
  ERROR_CODES.INTERNAL_ERROR,
  ERROR_CODES.UNAVAILABLE,
  ERROR_CODES.HELLO_REQUIRED,
]);

/** WebSocket close codes (peerlane.core.session CLOSE_*, and 1013 from server/ws.py). */
export const CLOSE_CODES = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001, // server shutting down: reconnect
  POLICY: 1008, // too many invalid messages: reconnect, slowly
  TOO_BIG: 1009,
  INTERNAL: 1011,
  TRY_AGAIN_LATER: 1013, // too slow to keep up: reconnect and replay
  VERSION: 4400, // unsupported protocol version: reload needed
  UNAUTHORIZED: 4401, // no or bad session (or signed out): show the join prompt
  REMOVED: 4403, // the owner removed this participant: say so, do not reconnect
  ROOM_GONE: 4404, // room deleted
  REPLACED: 4409, // a newer connection resumed my peer id: reconnect without the resume token
});

// ---- wire message shapes (JSDoc only) ---------------------------------------------

/** @typedef {"owner" | "member"} Role */
/** @typedef {"text" | "reaction" | "file" | "edit" | "delete"} ChatKind */
/** @typedef {"offer" | "answer" | "candidate" | "bye"} SignalKind */

/** @typedef {{peer_id: string, participant_id: string, name: string, role: Role}} PeerInfo */
/** @typedef {{urls: string[], username?: string | null, credential?: string | null}} IceServerInfo */

// client → server
/** @typedef {{type: "hello", v: number, last_seq?: number}} HelloMsg */
/** @typedef {{type: "chat", id: string, body: unknown, kind: ChatKind, ref: number | null}} ChatOutMsg */
/** @typedef {{type: "signal", to: string, kind: SignalKind, data: unknown}} SignalOutMsg */
/** @typedef {{type: "sync", after: number}} SyncMsg */
/** @typedef {{type: "typing", active: boolean}} TypingOutMsg */
/** @typedef {{type: "receipt", seq: number}} ReceiptOutMsg */
/** @typedef {{type: "ping", nonce?: string}} PingMsg */
/** @typedef {{type: "stored", ids: string[]}} StoredOutMsg */
/**
 * A member's client answering a join by code: its share and confirmation, the hand-over, or a refusal.
 * @typedef {{type: "pake.reply", attempt: string, share: string, confirm: string}
 *   | {type: "pake.admit", attempt: string, handover: string}
 *   | {type: "pake.reject", attempt: string}} PakeOutMsg
 */
/** @typedef {HelloMsg | ChatOutMsg | SignalOutMsg | SyncMsg | TypingOutMsg | ReceiptOutMsg | PingMsg | StoredOutMsg | PakeOutMsg} ClientMessage */

// server → client
/**
 * @typedef {{type: "welcome", v: number, peer_id: string, participant_id: string, name: string,
 *   role: Role, room_id: string, room_name: string, peers: PeerInfo[], latest_seq: number,
 *   ice_servers: IceServerInfo[], read: Record<string, number>, limits: Record<string, number>,
 *   resume?: string | null, mesh_connect_timeout?: number | null}} WelcomeMsg
 *   mesh_connect_timeout: seconds a direct link gets to connect (the operator's setting);
 *   absent from an older server.
 */
/** @typedef {{type: "presence", event: "joined" | "left", peer: PeerInfo}} PresenceMsg */
/**
 * @typedef {{type: "message", seq: number, id: string, sender: string, sender_name: string,
 *   ts: number, kind: ChatKind, ref: number | null, body: unknown,
 *   edited_at?: number | null, deleted_at?: number | null}} MessageMsg
 */
/** @typedef {{type: "ack", id: string, seq: number, ts: number}} AckMsg */
/** @typedef {{type: "synced", latest_seq: number}} SyncedMsg */
/** @typedef {{type: "signal", sender: string, kind: SignalKind, data: unknown}} SignalMsg */
/** @typedef {{type: "typing", peer_id: string, name: string, active: boolean}} TypingMsg */
/** @typedef {{type: "receipt", participant_id: string, seq: number}} ReceiptMsg */
/** @typedef {{type: "pong", nonce?: string | null}} PongMsg */
/** @typedef {{type: "stored", acks: AckMsg[], missing: string[]}} StoredMsg */
/** @typedef {{type: "error", error: {code: string, message: string}, ref?: string | null}} ErrorMsg */
/** A member published its identity key or handed out room keys. @typedef {{type: "keys", participant_id: string, epoch: number}} KeysMsg */
/**
 * @typedef {WelcomeMsg | PresenceMsg | MessageMsg | AckMsg | SyncedMsg | SignalMsg | TypingMsg
 *   | ReceiptMsg | PongMsg | StoredMsg | ErrorMsg | KeysMsg} ServerMessage
 */

// peer ↔ peer (data channel)
/**
 * @typedef {{t: "chat", id: string, sender: string, sender_name: string, hlc: string,
 *   kind: ChatKind, ref: number | null, body: unknown, seq?: number | null}} PeerChatMsg
 */
/** @typedef {{t: "ack", id: string, sender: string}} PeerAckMsg */
/** @typedef {{t: "read", participant_id: string, seq: number}} PeerReadMsg */
/** @typedef {{t: "typing", participant_id: string, name: string, active: boolean}} PeerTypingMsg */
/** @typedef {{t: "hello", participant_id: string, name: string}} PeerHelloMsg */
/** @typedef {{t: "moved", link: string}} PeerMovedMsg  a moved room's new link (e2e/room-move.js) */
/**
 * @typedef {PeerChatMsg | PeerAckMsg | PeerReadMsg | PeerTypingMsg | PeerHelloMsg | PeerMovedMsg} PeerMessage
 */

// file-transfer control (chat kind "file"; body, opaque to the server)
/**
 * @typedef {{op: "offer", transfer: string, name: string, size: number, type: string,
 *   root: string, blocks: number, to: string | null, peer: string | null}} FileOfferBody
 *   peer: the sender's peer id when offering (which of its tabs has the file).
 */
/** @typedef {{op: "accept", transfer: string, have: number}} FileAcceptBody */
/** @typedef {{op: "decline" | "cancel" | "done", transfer: string, reason?: string}} FileEndBody */
/** @typedef {{op: "uploaded", transfer: string, file_id: string}} FileUploadedBody */
/** @typedef {FileOfferBody | FileAcceptBody | FileEndBody | FileUploadedBody} FileBody */

/**
 * Parse one server frame; null when it is not a JSON object with a known `type`
 * (a newer server may add types: ignoring them keeps this client working).
 * @param {unknown} data
 * @returns {ServerMessage | null}
 */
export function parseServerMessage(data) {
  const obj = parseObject(data);
  if (!obj || typeof obj.type !== "string" || !SERVER_TYPES.includes(obj.type)) return null;
  return /** @type {ServerMessage} */ (/** @type {unknown} */ (obj));
}

/**
 * @typedef {{type: "pake.share", attempt: string, invite: string, joiner: string, share: string}
 *   | {type: "pake.confirm", attempt: string, confirm: string}
 *   | {type: "pake.abort", attempt: string}} PakeInMsg
 */

/**
 * Parse one server frame as a join-by-code frame for a member; null for anything else.
 * @param {unknown} data
 * @returns {PakeInMsg | null}
 */
export function parsePakeMessage(data) {
  if (typeof data !== "string" || !data.includes('"pake.')) return null; // most frames: no parse
  const obj = parseObject(data);
  if (!obj || typeof obj.type !== "string" || !PAKE_MEMBER_TYPES.includes(obj.type)) return null;
  if (typeof obj.attempt !== "string") return null;
  return /** @type {PakeInMsg} */ (/** @type {unknown} */ (obj));
}

/**
 * Parse one data-channel frame; null unless it is a JSON object with a known `t`.
 * @param {unknown} data
 * @returns {PeerMessage | null}
 */
export function parsePeerMessage(data) {
  const obj = parseObject(data);
  if (!obj || typeof obj.t !== "string" || !PEER_TYPES.includes(obj.t)) return null;
  return /** @type {PeerMessage} */ (/** @type {unknown} */ (obj));
}

/**
 * @param {unknown} data
 * @returns {Record<string, unknown> | null}
 */
function parseObject(data) {
  if (typeof data !== "string") return null;
  try {
    const value = JSON.parse(data);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

// ChatRoom: one room's chat, the thin coordinator of its parts: the server connection
// (chat-server.js, over signaling.js), the direct links (chat-peers.js, over mesh.js),
// the message log (chat-log.js: ordering, merge, dedupe; pure), the outbox
// (chat-outbox.js: what waits for the server's ack, and resending it) and presence
// (chat-presence.js: typing, read receipts); what they report to it is applied by
// chat-inbound.js. The UI reads its properties and listens to its events; see
// docs/web-client.md for the contract.
//
// Own messages: "sending" (in the outbox, sent to the server and to every open data
// channel) → "sent" (server ack: it has a seq; out of the outbox) → "delivered" (a peer
// acked it over a data channel) → "read" (someone's read receipt covers its seq). A
// permanent server error makes it "failed" (retry() puts it back to "sending"). A message
// never moves backwards except by retry().

import { roomApi } from "./api.js";
import { History, PAGE_SIZE } from "./chat-history.js";
import { fromServer, keepHandedLinks } from "./chat-inbound.js";
import { newMessageId } from "./chat-own.js";
import { makeParts } from "./chat-parts.js";
import { MAX_EMOJI_CHARS } from "./chat-reactions.js";
import { linksSettled, startRoom } from "./chat-start.js";
import { KeptRoom } from "./device-rooms.js";
import { clearBodyLimit } from "./e2e/room-crypto.js";
import { systemClock } from "./hlc.js";
import { directPeople, statusText } from "./status-text.js";

/** @typedef {import("./protocol.js").ChatKind} ChatKind */
/** @typedef {import("./chat-log.js").ChatMessage} ChatMessage */
/** @typedef {import("./api.js").RoomOut} RoomOut */
/** @typedef {import("./api.js").RoomView} RoomView */
/** @typedef {import("./mesh.js").PeerView} PeerView */
/** @typedef {import("./signaling.js").CloseReason} CloseReason */
/** @typedef {import("./signaling.js").SocketLike} SocketLike */
/** @typedef {import("./transfer-wire.js").ChannelLike} ChannelLike */
/** @typedef {import("./transfer.js").Transfers} Transfers */

/** @typedef {import("./hlc.js").Hlc} Hlc */
/** @typedef {import("./chat-types.js").ServerState} ServerState */
/** @typedef {import("./chat-types.js").Me} Me */
/** @typedef {import("./chat-types.js").ChatRoomOptions} ChatRoomOptions */

export { prepareRoom } from "./chat-start.js";
export { newMessageId, PAGE_SIZE };

export class ChatRoom extends EventTarget {
  /**
   * @param {string} roomId
   * @param {ChatRoomOptions} [options]
   */
  constructor(roomId, options = {}) {
    super();
    this.id = roomId;
    /** This device's copy of the room (device-rooms.js); none with an injected api (tests). */
    this._kept = options.api ? null : new KeptRoom(roomId);
    /** End-to-end encryption (e2e/room-crypto.js); null: a room made before it. */
    this.e2e = options.e2e ?? null;
    const api = this.e2e ? this.e2e.api(options.api ?? roomApi) : (options.api ?? roomApi);
    this._api = this._kept ? this._kept.wrap(api, this.e2e?.openKept) : api;
    this._clock = options.clock ?? systemClock;
    this._newId = options.newId ?? newMessageId;
    /** @type {RoomView | null} */
    this._view = options.view?.room?.id === roomId ? options.view : null;
    /** @type {SocketLike | null} */
    this._socket = options.socket ?? null;

    /** @type {Me | null} */
    this.me = null;
    /** @type {RoomOut | null} */
    this.roomInfo = null;
    this.meshLimit = 0;
    /** The server's body limit (from welcome): bigger messages fail before going anywhere. */
    this._maxBodyBytes = Infinity;
    /** @type {ServerState} */
    this.serverState = "connecting";
    /** Why the room ended for this browser (no more reconnecting). @type {CloseReason | null} */
    this.ended = null;

    this._changeQueued = false;
    /** History and outbox loaded (start): everything is handled from then on. */
    this._ready = false;
    /** The history pages: the latest at the start, older ones on demand. */
    this._history = new History({
      roomId,
      api: this._api,
      minSeq: () => this._log.minSeq,
      merge: (msg) => fromServer(this, msg),
    });
    // The parts (chat-parts.js): the log, the outbox, own messages, presence, the direct
    // links and the server connection, wired to each other and to this room.
    const parts = makeParts(this, options);
    this._log = parts.log;
    this._outbox = parts.outbox;
    this._own = parts.own;
    this._presence = parts.presence;
    this._links = parts.links;
    this._server = parts.server;
    /** @type {Hlc | null} */
    this._hlc = null;
    this._closed = false;
    /** The file-transfer engine (docs/file-transfer.md); null when turned off. */
    /** @type {Transfers | null} */
    this.transfers = options.transfersFactory ? options.transfersFactory(this) : null;
    /** Make the default engine in start(). */
    this._defaultTransfers = options.transfersFactory === undefined;
    this._firstLinksWait = options.firstLinksWait ?? 0;
    /** Links peers handed over in `moved` frames (e2e/room-move.js). */
    this.handedLinks = keepHandedLinks(this);
  }

  // ---- what the UI reads --------------------------------------------------------------

  /** Shown messages in display order (a new array after each change). */
  /** The server's limit on a message's body, in bytes of compact JSON (Infinity before the welcome);
   * in an encrypted room, on the clear body, so that its envelope fits. */
  get maxBodyBytes() {
    return this.e2e?.encrypted ? clearBodyLimit(this._maxBodyBytes) : this._maxBodyBytes;
  }

  get messages() {
    return this._log.messages;
  }

  /** participant id → name, for those typing now. @type {Map<string, string>} */
  get typing() {
    return this._presence.typing;
  }

  /** peer id → PeerView, for every other peer in the room. */
  get peers() {
    return this._links.peers;
  }

  /** Open direct data channels. */
  get directCount() {
    return this._links.openCount;
  }

  /** The connection status in plain words (what [data-testid=connection-status] shows). */
  get statusText() {
    // People reached over a data channel of their own count.
    const direct = directPeople(this.peers.values(), this.me?.participant_id);
    return statusText(this.serverState, direct, this.ended).text;
  }

  /**
   * Find a message by its id (own or others').
   * @param {string} id
   * @param {string} [sender]  participant id; default: any
   * @returns {ChatMessage | undefined}
   */
  find(id, sender) {
    return this._log.find(id, sender);
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /**
   * Load the room (unless given as options.view), its latest history and the outbox, and
   * connect, all at once (chat-start.js). Throws ApiError.
   * @returns {Promise<void>}
   */
  start() {
    return startRoom(this);
  }

  /**
   * Resolves once the server has said welcome (or is unreachable) and the first direct
   * links have connected or given up, or after `ms` (chat-start.js).
   * @param {number} ms
   * @returns {Promise<void>}
   */
  linksSettled(ms) {
    return linksSettled(this, ms);
  }

  /** Leave the page: stop typing, close the connections, cancel timers. */
  close() {
    if (this._closed) return;
    this._presence.close(); // first: a "stopped typing" still goes out
    this._closed = true;
    this.transfers?.close();
    this._links.close({ notify: true }); // first: its byes travel over the signaling connection
    this._server.close();
    this._outbox.close();
    this._kept?.close();
  }

  // ---- what the UI does ---------------------------------------------------------------

  /**
   * Send a text message; it appears at once, in state "sending".
   * @param {string} text
   * @param {{replyTo?: number | null}} [options]  replyTo: the seq of the message replied to
   * @returns {ChatMessage}
   */
  send(text, options = {}) {
    this._presence.resetTyping();
    const ref = options.replyTo ?? null;
    if (ref !== null && (!Number.isInteger(ref) || ref < 0)) throw new TypeError("a reply needs the target's seq");
    return this._own.compose("text", text, ref);
  }

  /**
   * React to a message with an emoji. Sending the same emoji again takes it back.
   * @param {number} seq  the target's seq (only numbered messages take reactions)
   * @param {string} emoji
   * @returns {ChatMessage}  the (hidden) reaction message
   */
  react(seq, emoji) {
    if (!Number.isInteger(seq) || seq < 0) throw new TypeError("react() needs the target message's seq");
    if (typeof emoji !== "string" || !emoji || emoji.length > MAX_EMOJI_CHARS)
      throw new TypeError("react() needs an emoji");
    return this._own.compose("reaction", emoji, seq);
  }

  /**
   * Change the words of an own text message (chat-own.js): an edit for everyone, or, for
   * one still in the outbox, in place. What the server refuses comes as an "error" event.
   * @param {string} id
   * @param {string} text
   * @returns {ChatMessage | null}  null when there is nothing to change
   */
  edit(id, text) {
    return this._own.edit(id, text);
  }

  /**
   * Delete an own message for everyone (its words leave every copy); one still in the
   * outbox simply leaves it.
   * @param {string} id
   * @returns {ChatMessage | null}  null when there is nothing to delete
   */
  deleteMessage(id) {
    return this._own.remove(id);
  }

  /**
   * The shown message a seq numbers (a reply's target), when loaded.
   * @param {number} seq
   * @returns {ChatMessage | undefined}
   */
  message(seq) {
    return this._log.bySeq(seq);
  }

  /**
   * Put a failed message back to "sending" and send it again (same id).
   * @param {string} id
   * @returns {boolean}  false when there is no such failed message, or sending it again
   *   cannot help (m.final: too large, or refused for good)
   */
  retry(id) {
    return this._own.retry(id);
  }

  /**
   * Who else has read the message numbered seq, by name (for "Read by …").
   * @param {number} seq
   * @returns {string[]}
   */
  readers(seq) {
    return this._presence.readersOf(seq).map((participant) => this._nameOf(participant));
  }

  /**
   * A participant's name: as a peer in the room now, else from their latest message.
   * @param {string} participant
   * @returns {string}
   */
  _nameOf(participant) {
    for (const peer of this.peers.values()) if (peer.participant_id === participant && peer.name) return peer.name;
    const messages = this._log.messages;
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = /** @type {ChatMessage} */ (messages[i]);
      if (m.sender === participant && m.sender_name) return m.sender_name;
    }
    return "Someone";
  }

  /**
   * Delete an own message that failed: out of the list and the outbox, for good. The
   * server never stored it, so nobody else needs telling.
   * @param {string} id
   * @returns {boolean}  false when there is no such failed message
   */
  discard(id) {
    return this._own.discard(id);
  }

  /**
   * The person has seen everything up to `seq`; told to the others after a short pause.
   * @param {number} seq
   */
  markRead(seq) {
    this._presence.markRead(seq);
    this._kept?.keepRead(seq);
  }

  /**
   * The person is typing (true on every keystroke is fine: throttled) or stopped.
   * @param {boolean} active
   */
  setTyping(active) {
    if (!this.me || this._closed) return;
    this._presence.setTyping(active);
  }

  /** Older history may exist on the server (what loadOlder() last reported). */
  get hasMore() {
    return this._history.hasMore;
  }

  /**
   * Load the history page before the oldest message held.
   * @returns {Promise<boolean>}  whether still older messages remain
   */
  loadOlder() {
    return this._history.loadOlder();
  }

  // ---- file transfers (transfer.js) ----------------------------------------------------

  /**
   * Send a transfer control message (chat kind "file"; docs/file-transfer.md).
   * @param {Record<string, unknown>} body
   * @returns {ChatMessage}
   */
  sendFileMessage(body) {
    return this._own.compose("file", body, null);
  }

  /**
   * A data-channel message to one peer or every open channel (never through the server):
   * what e2e/room-move.js hands over. How many channels took it.
   * @param {import("./protocol.js").PeerMessage} message
   * @param {string} [peerId]
   */
  sendDirect(message, peerId) {
    return this._links.mesh?.send(message, peerId) ?? 0;
  }

  /** The direct links (telemetry.js reads their outcomes and stats), or null. */
  get mesh() {
    return this._links.mesh ?? null;
  }

  /**
   * Open a file-transfer data channel on the direct link to a peer; null without an open link.
   * @param {string} peerId
   * @param {string} label
   * @returns {ChannelLike | null}
   */
  openDataChannel(peerId, label) {
    return this._links.mesh?.openDataChannel?.(peerId, label) ?? null;
  }

  // ---- events -------------------------------------------------------------------------

  _changed() {
    if (this._changeQueued) return;
    this._changeQueued = true;
    // One "change" per burst (a replay delivers hundreds of messages in one task).
    queueMicrotask(() => {
      this._changeQueued = false;
      if (!this._closed) this._emit("change");
    });
  }

  /**
   * @param {string} type
   * @param {unknown} [detail]
   */
  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// ChatRoom: one room's chat, the thin coordinator of its parts: the server connection
// (chat-server.js, over signaling.js), the direct links (chat-peers.js, over mesh.js),
// the message log (chat-log.js: ordering, merge, dedupe; pure), the outbox
// (chat-outbox.js: what waits for the server's ack, and resending it) and presence
// (chat-presence.js: typing, read receipts). The UI reads its properties and listens to
// its events; see docs/web-client.md for the contract.
//
// Own messages: "sending" (in the outbox, sent to the server and to every open data
// channel) → "sent" (server ack: it has a seq; out of the outbox) → "delivered" (a peer
// acked it over a data channel) → "read" (someone's read receipt covers its seq). A
// permanent server error makes it "failed" (retry() puts it back to "sending"). A message
// never moves backwards except by retry().

import { roomApi } from "./api.js";
import { MAX_EMOJI_CHARS } from "./chat-log.js";
import { newMessageId } from "./chat-own.js";
import { makeParts } from "./chat-parts.js";
import { Hlc, systemClock } from "./hlc.js";
import { openManifests } from "./opfs.js";
import { directPeople, endedError, statusText } from "./status-text.js";
import { openOutbox } from "./store.js";

/** @typedef {import("./protocol.js").ChatKind} ChatKind */
/** @typedef {import("./chat-log.js").ChatMessage} ChatMessage */
/** @typedef {import("./protocol.js").MessageMsg} MessageMsg */
/** @typedef {import("./api.js").RoomOut} RoomOut */
/** @typedef {import("./api.js").RoomView} RoomView */
/** @typedef {import("./mesh.js").PeerView} PeerView */
/** @typedef {import("./signaling.js").CloseReason} CloseReason */
/** @typedef {import("./signaling.js").SocketLike} SocketLike */
/** @typedef {import("./transfer-wire.js").ChannelLike} ChannelLike */
/** @typedef {import("./transfer.js").Transfers} Transfers */

/** @typedef {import("./chat-types.js").ServerState} ServerState */
/** @typedef {import("./chat-types.js").Me} Me */
/** @typedef {import("./chat-types.js").ChatRoomOptions} ChatRoomOptions */

export { newMessageId };

export const PAGE_SIZE = 50;
/**
 * Get ready for a room page to come: open the local databases, whose first opening in a
 * browser can take long (see openOutbox). For the page before it (join, home).
 */
export function prepareRoom() {
  openOutbox();
  openManifests();
}

export class ChatRoom extends EventTarget {
  /**
   * @param {string} roomId
   * @param {ChatRoomOptions} [options]
   */
  constructor(roomId, options = {}) {
    super();
    this.id = roomId;
    this._api = options.api ?? roomApi;
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
    /** Older history may exist on the server (see loadOlder). */
    this.hasMore = false;

    this._changeQueued = false;
    /** History and outbox loaded (start): everything is handled from then on. */
    this._ready = false;
    /** An older history page is being merged: its messages are not news. */
    this._loadingOlder = false;
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
    /** @type {Promise<boolean> | null} */
    this._older = null;
    /** The file-transfer engine (docs/file-transfer.md); null when turned off. */
    /** @type {Transfers | null} */
    this.transfers = options.transfersFactory ? options.transfersFactory(this) : null;
    /** Make the default engine in start(). */
    this._defaultTransfers = options.transfersFactory === undefined;
    this._firstLinksWait = options.firstLinksWait ?? 0;
  }

  // ---- what the UI reads --------------------------------------------------------------

  /** Shown messages in display order (a new array after each change). */
  /** The server's limit on a message's body, in bytes of compact JSON (Infinity before the welcome). */
  get maxBodyBytes() {
    return this._maxBodyBytes;
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
    return statusText(this.serverState, directPeopleOf(this), this.ended).text;
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
   * connect. Throws ApiError.
   *
   * Everything starts at once. The WebSocket says hello as soon as it is open, without a
   * resume point: the server starts at the present, and the latest history page comes
   * over HTTP meanwhile (a message stored between the two is replayed: chat-server.js). Once
   * the room is known (its mesh_limit), the welcome starts the mesh, so the first offers
   * go out while the history and the local stores load. Everything else the server and
   * the peers send waits until the history and the outbox are in place, then is handled
   * in order.
   */
  async start() {
    const roomView = this._view ? Promise.resolve(this._view) : this._api.getRoom(this.id);
    const history = this._api.getMessages(this.id, { limit: PAGE_SIZE });
    history.catch(() => {}); // not a member, say: reported below, by whichever comes first
    const outbox = this._outbox.read();
    this._server.connect(this._socket);
    this._socket = null;
    // The transfer engine is 100 KB of modules to compile: it waits for the first links
    // (at most firstLinksWait), so it does not hold up their offer, answer and ICE.
    const engine = this._defaultTransfers
      ? this.linksSettled(this._firstLinksWait).then(() => import("./transfer.js"))
      : null;
    engine?.catch(() => {}); // reported below
    const view = await roomView;
    this.roomInfo = view.room;
    this.meshLimit = view.mesh_limit;
    const p = view.participant;
    this.me = { participant_id: p.id, peer_id: null, name: p.name, role: p.role };
    this._hlc = new Hlc(p.id, { now: () => this._clock.now() });
    if (this._closed) return;
    this._server.known();
    // The transfers are loaded before the history is: its "file" messages need them.
    const [page] = await Promise.all([history, this._startTransfers(engine)]);
    for (const msg of page.messages) this._fromServer(msg);
    this.hasMore = page.has_more;
    this._server.historyTop = page.messages.reduce((top, m) => Math.max(top, m.seq), 0);
    const restored = this._outbox.restore(await outbox, this._hlc);
    if (this._closed) return;
    this._ready = true;
    // Channels that opened meanwhile get what waits in the outbox, as on a channel's open.
    for (const m of restored) this._links.sendChat(m);
    this._server.ready();
    this._links.release();
    this._changed();
    this._server.stateChanged();
    this._emit("status");
  }

  /**
   * Resolves once the server has said welcome (or is unreachable) and the first direct
   * links have connected or given up, or after `ms`. Work that can wait (loading modules,
   * the first render: 100 ms and more on a busy or slow machine) waits for this, as done
   * while the links negotiate it held up each step of it (offer, answer, ICE) by as much
   * (docs/benchmarks.md, "Connect time").
   * @param {number} ms
   * @returns {Promise<void>}
   */
  linksSettled(ms) {
    const busy = () =>
      (!this.me?.peer_id && this.serverState === "connecting" && !this.ended) ||
      Array.from(this.peers.values()).some((p) => p.direct && p.path === "connecting");
    if (ms <= 0 || !busy()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this._clock.clearTimeout(timer);
        this.removeEventListener("peers", check);
        this.removeEventListener("status", check);
        resolve();
      };
      const check = () => {
        if (!busy()) done();
      };
      const timer = this._clock.setTimeout(done, ms);
      this.addEventListener("peers", check);
      this.addEventListener("status", check);
    });
  }

  /**
   * Make the default transfer engine, once its modules are loaded, and load its records.
   * @param {Promise<typeof import("./transfer.js")> | null} engine
   */
  async _startTransfers(engine) {
    if (engine) {
      const { Transfers } = await engine;
      if (this._closed) return;
      this.transfers = new Transfers(this);
    }
    await this.transfers?.start();
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
  }

  /**
   * The person is typing (true on every keystroke is fine: throttled) or stopped.
   * @param {boolean} active
   */
  setTyping(active) {
    if (!this.me || this._closed) return;
    this._presence.setTyping(active);
  }

  /**
   * Load the history page before the oldest message held.
   * @returns {Promise<boolean>}  whether still older messages remain
   */
  loadOlder() {
    this._older ??= this._fetchOlder().finally(() => {
      this._older = null;
    });
    return this._older;
  }

  async _fetchOlder() {
    const before = this._log.minSeq;
    if (!this.hasMore || before === null) {
      this.hasMore = false;
      return false;
    }
    const page = await this._api.getMessages(this.id, { before, limit: PAGE_SIZE });
    this._loadingOlder = true;
    try {
      for (const msg of page.messages) this._fromServer(msg);
    } finally {
      this._loadingOlder = false;
    }
    this.hasMore = page.has_more;
    return this.hasMore;
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
   * Open a file-transfer data channel on the direct link to a peer; null without an open link.
   * @param {string} peerId
   * @param {string} label
   * @returns {ChannelLike | null}
   */
  openDataChannel(peerId, label) {
    return this._links.mesh?.openDataChannel?.(peerId, label) ?? null;
  }

  // ---- the message log ----------------------------------------------------------------

  /**
   * Merge a message from the server (live, replayed or from history).
   * @param {MessageMsg} msg
   */
  _fromServer(msg) {
    const me = this.me?.participant_id;
    this._log.fromServer(msg, me, this._presence.readUpTo);
    if (msg.sender === me) {
      this._outbox.unqueue(msg.id); // stored: an ack lost with a dropped connection is no loss
      this._own.settle(this._log.get(msg.sender, msg.id)); // a change made to it meanwhile
    }
    this._presence.clearTyping(msg.sender);
  }

  // ---- the server connection ---------------------------------------------------------

  /** @param {CloseReason} reason */
  _ended(reason) {
    this.ended = reason;
    if (reason === "room_gone") this._emit("deleted");
    const error = endedError(reason);
    if (error) this._emit("error", error);
    this._emit("status");
  }

  /** @param {ServerState} state */
  _setServerState(state) {
    if (this.serverState === state) return;
    this.serverState = state;
    this._emit("status");
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

/**
 * People reached over a data channel of their own (the status text's count).
 * @param {ChatRoom} room
 */
function directPeopleOf(room) {
  return directPeople(room.peers.values(), room.me?.participant_id);
}

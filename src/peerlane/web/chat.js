// ChatRoom: one room's ordered message list, joining the server connection (signaling.js),
// the direct peer links (mesh.js) and the outbox (store.js). The UI reads its properties
// and listens to its events; see docs/web-client.md for the contract.
//
// Ordering: messages the server has numbered sort by seq; the others (in flight, or sent
// while the server is unreachable) sort after them by hybrid logical clock. The same
// message arriving by data channel and by server is one entry, keyed by (sender, id).
//
// Own messages: "sending" (in the outbox, sent to the server and to every open data
// channel) → "sent" (server ack: it has a seq; out of the outbox) → "delivered" (a peer
// acked it over a data channel) → "read" (someone's read receipt covers its seq). A
// permanent server error makes it "failed" (retry() puts it back to "sending"). A message
// never moves backwards except by retry().
//
// Resending: when a connection is up (synced), the outbox asks the server which of its
// messages it stored (`stored`: a connection lost, or a crash or reload, can swallow
// their acks) and resends exactly the missing ones, oldest first; new messages wait for
// the answer so the order holds. While the outbox is not empty, Signaling pings often
// (awaitAcks), so a server that died without closing the socket is noticed in seconds.

import { roomApi } from "./api.js";
import { debug } from "./debug.js";
import { Hlc, compareHlc, formatHlc, systemClock } from "./hlc.js";
import { Mesh } from "./mesh.js";
import { CHAT_KINDS, ERROR_CODES, MAX_STORED_IDS, PERMANENT_CHAT_ERRORS, TRANSIENT_CHAT_ERRORS } from "./protocol.js";
import { Signaling } from "./signaling.js";
import { openManifests } from "./opfs.js";
import { indexedDbStore, openOutbox } from "./store.js";

/** @typedef {import("./protocol.js").ChatKind} ChatKind */
/** @typedef {import("./protocol.js").ClientMessage} ClientMessage */
/** @typedef {import("./protocol.js").ServerMessage} ServerMessage */
/** @typedef {import("./protocol.js").MessageMsg} MessageMsg */
/** @typedef {import("./protocol.js").WelcomeMsg} WelcomeMsg */
/** @typedef {import("./protocol.js").PeerInfo} PeerInfo */
/** @typedef {import("./protocol.js").PeerMessage} PeerMessage */
/** @typedef {import("./protocol.js").PeerChatMsg} PeerChatMsg */
/** @typedef {import("./protocol.js").SignalKind} SignalKind */
/** @typedef {import("./protocol.js").IceServerInfo} IceServerInfo */
/** @typedef {import("./api.js").RoomApi} RoomApi */
/** @typedef {import("./api.js").RoomOut} RoomOut */
/** @typedef {import("./api.js").RoomView} RoomView */
/** @typedef {import("./store.js").OutboxStore} OutboxStore */
/** @typedef {import("./store.js").OutboxItem} OutboxItem */
/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {import("./mesh.js").PeerView} PeerView */
/** @typedef {import("./signaling.js").SignalingState} SignalingState */
/** @typedef {import("./signaling.js").CloseReason} CloseReason */
/** @typedef {import("./signaling.js").SocketLike} SocketLike */
/** @typedef {import("./transfer-wire.js").ChannelLike} ChannelLike */
/** @typedef {import("./transfer.js").Transfers} Transfers */

/** @typedef {"sending" | "sent" | "delivered" | "read" | "failed"} MessageState */
/** @typedef {"connecting" | "online" | "offline"} ServerState */

/**
 * @typedef {{
 *   id: string, seq: number | null, hlc: string, sender: string, sender_name: string,
 *   ts: number | null, kind: ChatKind, ref: number | null, body: unknown,
 *   state: MessageState, reactions: Map<string, Set<string>>,
 * }} ChatMessage
 *   ts: seconds since the epoch (server time once the server has it).
 *   reactions: emoji → participant ids, aggregated from "reaction" messages.
 *   state: meaningful for own messages; others' are "sent" (numbered) or "delivered"
 *   (so far only received over a data channel).
 */

/** @typedef {{participant_id: string, peer_id: string | null, name: string, role: string}} Me */

/**
 * What ChatRoom needs of a Signaling (tests inject a fake).
 * @typedef {EventTarget & {
 *   state: SignalingState, closeReason: CloseReason | null, lastSeq: number | null,
 *   connect(): void, send(message: ClientMessage): boolean, close(): void,
 *   rewind?(seq: number): void, awaitAcks?(busy: boolean): void,
 * }} SignalingLike
 *   rewind: replay from seq (start() connects at the present; see _checkGap).
 *   awaitAcks: whether messages wait for the server's ack (keep-alive pings more often).
 */

/**
 * What ChatRoom needs of a Mesh (tests inject a fake).
 * @typedef {EventTarget & {
 *   peers: Map<string, PeerView>, openCount: number,
 *   setPeers(peers: PeerInfo[]): void, addPeer(peer: PeerInfo): void, removePeer(peerId: string): void,
 *   handleSignal(signal: {sender: string, kind: SignalKind, data: unknown}): void,
 *   send(message: PeerMessage, peerId?: string): number, close(options?: {notify?: boolean}): void,
 *   openDataChannel?(peerId: string, label: string): ChannelLike | null,
 * }} MeshLike
 *   openDataChannel and the "datachannel" event: file transfers (transfer.js).
 */

/**
 * @typedef {{
 *   selfPeerId: string, meshLimit: number, iceServers: IceServerInfo[],
 *   sendSignal: (to: string, kind: SignalKind, data: unknown) => boolean,
 * }} MeshFactoryOptions
 */

/**
 * @typedef {{
 *   signalingFactory?: (roomId: string, options: {lastSeq: number | null, socket?: SocketLike | null}) => SignalingLike,
 *   meshFactory?: (options: MeshFactoryOptions) => MeshLike,
 *   store?: OutboxStore,
 *   api?: RoomApi,
 *   clock?: Clock,
 *   newId?: () => string,
 *   random?: () => number,
 *   transfersFactory?: ((room: ChatRoom) => Transfers) | null,
 *   view?: RoomView | null,
 *   socket?: SocketLike | null,
 *   firstLinksWait?: number,
 * }} ChatRoomOptions
 *   transfersFactory: makes room.transfers (default: a Transfers with browser storage,
 *   made by start(): its modules load with import() meanwhile, not before the room can
 *   connect); null: no file transfers.
 *   firstLinksWait: ms start() lets the first links negotiate before it loads the
 *   default transfer engine (see linksSettled; default 0).
 *   view: what GET /api/rooms/{id} would answer, when already known (creating or joining
 *   the room answered it): start() does not ask again.
 *   socket: the room's WebSocket, opened already by the page that created or joined the
 *   room (handover.js): the first connection takes it over.
 */

export const PAGE_SIZE = 50;
const TYPING_RESEND_MS = 3_000; // while typing, say so at most this often
const TYPING_IDLE_MS = 5_000; // no keystroke for this long: stopped typing
const TYPING_EXPIRY_MS = 6_000; // others' indicator disappears unless renewed
const READ_DEBOUNCE_MS = 1_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;
const MAX_EMOJI_CHARS = 32;

/** Server messages for the mesh: handled as soon as the room is known (see start). */
const EARLY_TYPES = new Set(["welcome", "presence", "signal"]);
/**
 * Errors (without ref) that mean a `stored` question will not be answered: a server that
 * does not know it, or refused it. The outbox then resends everything (idempotent by id).
 */
const STORED_REFUSED = new Set(/** @type {string[]} */ ([ERROR_CODES.UNKNOWN_TYPE, ERROR_CODES.INVALID_MESSAGE, ERROR_CODES.RATE_LIMITED]));

/** @type {Record<MessageState, number>} how far along a message is; it only moves forward */
const RANK = { failed: -1, sending: 0, sent: 1, delivered: 2, read: 3 };

/**
 * Display order: numbered messages by seq, then the rest by HLC, ties by (sender, id).
 * @param {ChatMessage} a
 * @param {ChatMessage} b
 * @returns {number}
 */
export function compareMessages(a, b) {
  if (a.seq !== null && b.seq !== null) return a.seq - b.seq;
  if (a.seq !== null) return -1;
  if (b.seq !== null) return 1;
  return compareHlc(a.hlc, b.hlc) || compareHlc(a.sender, b.sender) || compareHlc(a.id, b.id);
}

/**
 * Get ready for a room page to come: open the local databases, whose first opening in a
 * browser can take long (see openOutbox). For the page before it (join, home).
 */
export function prepareRoom() {
  openOutbox();
  openManifests();
}

/** A message id: a UUID. crypto.randomUUID needs a secure context, a LAN http:// page is not. */
export function newMessageId() {
  if (typeof globalThis.crypto?.randomUUID === "function" && globalThis.isSecureContext !== false) {
    return globalThis.crypto.randomUUID();
  }
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** @param {string} sender @param {string} id */
const keyOf = (sender, id) => `${sender}\n${id}`;

export class ChatRoom extends EventTarget {
  /**
   * @param {string} roomId
   * @param {ChatRoomOptions} [options]
   */
  constructor(roomId, options = {}) {
    super();
    this.id = roomId;
    this._api = options.api ?? roomApi;
    this._store = options.store ?? indexedDbStore;
    this._clock = options.clock ?? systemClock;
    this._newId = options.newId ?? newMessageId;
    this._random = options.random ?? Math.random;
    this._signalingFactory = options.signalingFactory ?? ((id, opts) => new Signaling(id, opts));
    this._meshFactory = options.meshFactory ?? ((opts) => new Mesh(opts));
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
    /** participant id → name, for those typing now. @type {Map<string, string>} */
    this.typing = new Map();
    /** Older history may exist on the server (see loadOlder). */
    this.hasMore = false;

    /** Every message, reactions included. @type {Map<string, ChatMessage>} */
    this._byKey = new Map();
    /** Shown messages (not reactions) by seq. @type {Map<number, ChatMessage>} */
    this._bySeq = new Map();
    /** Reaction keys per target seq. @type {Map<number, Set<string>>} */
    this._reactionKeys = new Map();
    /** @type {ChatMessage[]} */
    this._sorted = [];
    this._dirty = false;
    this._changeQueued = false;
    /** @type {number | null} */
    this._minSeq = null;
    /** @type {number | null} */
    this._maxSeq = null;

    /** Own messages waiting for a server ack: id → retry state. @type {Map<string, {attempt: number, timer: unknown}>} */
    this._pending = new Map();
    /** Answers still due to this connection's `stored` questions; null when none was asked. @type {number | null} */
    this._storedDue = null;
    /** Outbox writes, one after another, so a remove never overtakes its add. */
    this._storeQueue = Promise.resolve();
    /** Read position per other participant. @type {Map<string, number>} */
    this._readBy = new Map();
    this._maxOtherRead = 0;
    /** Own read position: wanted (marked), sent (told the server). @type {{wanted: number, sent: number, timer: unknown}} */
    this._read = { wanted: 0, sent: 0, timer: null };
    /** Own typing indicator. @type {{active: boolean, sentAt: number, idleTimer: unknown}} */
    this._typing = { active: false, sentAt: -Infinity, idleTimer: null };
    /** @type {Map<string, unknown>} */
    this._typingTimers = new Map();

    /** Peers the server told us about: peer id → info. @type {Map<string, PeerInfo>} */
    this._peerInfo = new Map();
    /** @type {SignalingLike | null} */
    this._signaling = null;
    /** The room is known (start): the mesh's server messages are handled from then on. */
    this._roomKnown = false;
    /** History and outbox loaded (start): everything is handled from then on. */
    this._ready = false;
    /** Server messages that came before that, in order. @type {ServerMessage[]} */
    this._held = [];
    /** Peer messages that came before that, in order. @type {[string, PeerMessage][]} */
    this._heldData = [];
    /** The highest seq of the history page start() loaded. */
    this._historyTop = 0;
    this._gapChecked = false;
    /** @type {MeshLike | null} */
    this._mesh = null;
    /** @type {Hlc | null} */
    this._hlc = null;
    this._lastDirect = 0;
    /** @type {SignalingState | null} */
    this._signalingState = null;
    this._closed = false;
    /** @type {Promise<boolean> | null} */
    this._older = null;
    /** @type {Map<string, PeerView>} */
    this._noPeers = new Map();
    /** The file-transfer engine (docs/file-transfer.md); null when turned off. */
    /** @type {Transfers | null} */
    this.transfers = options.transfersFactory ? options.transfersFactory(this) : null;
    /** Make the default engine in start(). */
    this._defaultTransfers = options.transfersFactory === undefined;
    this._firstLinksWait = options.firstLinksWait ?? 0;
  }

  // ---- what the UI reads --------------------------------------------------------------

  /** Shown messages in display order (a new array after each change). */
  get messages() {
    if (this._dirty) {
      // Reactions aggregate into their targets; "file" messages are transfer control
      // (room.transfers shows them).
      this._sorted = [...this._byKey.values()].filter((m) => m.kind !== "reaction" && m.kind !== "file").sort(compareMessages);
      this._dirty = false;
    }
    return this._sorted;
  }

  /** peer id → PeerView, for every other peer in the room. */
  get peers() {
    return this._mesh?.peers ?? this._noPeers;
  }

  /** Open direct data channels. */
  get directCount() {
    return this._mesh?.openCount ?? 0;
  }

  /** The connection status in plain words (what [data-testid=connection-status] can show). */
  get statusText() {
    if (this.ended === "unauthorized") return "Signed out of this room";
    if (this.ended === "removed") return "Removed from this room";
    if (this.ended === "room_gone") return "This room was deleted";
    if (this.ended === "unsupported_version") return "This page is out of date; reload it";
    if (this.serverState === "online") return "Connected";
    if (this.serverState === "connecting") return "Connecting…";
    const people = this._directPeople();
    if (people === 0) return "Server unreachable — reconnecting…";
    return `Server unreachable — chatting directly with ${people === 1 ? "1 person" : `${people} people`}`;
  }

  /**
   * Find a message by its id (own or others').
   * @param {string} id
   * @param {string} [sender]  participant id; default: any
   * @returns {ChatMessage | undefined}
   */
  find(id, sender) {
    if (sender !== undefined) return this._byKey.get(keyOf(sender, id));
    for (const m of this._byKey.values()) if (m.id === id) return m;
    return undefined;
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /**
   * Load the room (unless given as options.view), its latest history and the outbox, and
   * connect. Throws ApiError.
   *
   * Everything starts at once. The WebSocket says hello as soon as it is open, without a
   * resume point: the server starts at the present, and the latest history page comes
   * over HTTP meanwhile (a message stored between the two is replayed: _checkGap). Once
   * the room is known (its mesh_limit), the welcome starts the mesh, so the first offers
   * go out while the history and the local stores load. Everything else the server and
   * the peers send waits until the history and the outbox are in place, then is handled
   * in order.
   */
  async start() {
    const roomView = this._view ? Promise.resolve(this._view) : this._api.getRoom(this.id);
    const history = this._api.getMessages(this.id, { limit: PAGE_SIZE });
    history.catch(() => {}); // not a member, say: reported below, by whichever comes first
    const outbox = this._readOutbox();
    this._connect();
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
    this._roomKnown = true;
    this._release((msg) => EARLY_TYPES.has(msg.type));
    // The transfers are loaded before the history is: its "file" messages need them.
    const [page] = await Promise.all([history, this._startTransfers(engine)]);
    for (const msg of page.messages) this._fromServer(msg);
    this.hasMore = page.has_more;
    this._historyTop = page.messages.reduce((top, m) => Math.max(top, m.seq), 0);
    const restored = this._restoreOutbox(await outbox);
    if (this._closed) return;
    this._ready = true;
    // Channels that opened meanwhile get what waits in the outbox, as on a channel's open.
    for (const m of restored) this._sendToPeers(m);
    this._release(() => true);
    for (const [peerId, message] of this._heldData.splice(0)) this._fromPeer(peerId, message);
    this._changed();
    this._onSignalingState();
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
      (!this.me?.peer_id && this.serverState === "connecting" && !this.ended)
      || Array.from(this.peers.values()).some((p) => p.direct && p.path === "connecting");
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

  /**
   * Handle the held server messages `which` picks, in order; keep the others.
   * @param {(msg: ServerMessage) => boolean} which
   */
  _release(which) {
    const held = this._held.splice(0);
    for (const msg of held) {
      if (which(msg)) this._onServer(msg);
      else this._held.push(msg);
    }
  }

  /** Leave the page: stop typing, close the connections, cancel timers. */
  close() {
    if (this._closed) return;
    if (this._typing.active) this._sendTyping(false);
    this._closed = true;
    this.transfers?.close();
    this._mesh?.close({ notify: true }); // first: its byes travel over the signaling connection
    this._signaling?.close();
    const clock = this._clock;
    for (const entry of this._pending.values()) clock.clearTimeout(entry.timer);
    for (const timer of this._typingTimers.values()) clock.clearTimeout(timer);
    clock.clearTimeout(this._read.timer);
    clock.clearTimeout(this._typing.idleTimer);
  }

  /** Open the room's WebSocket; what it brings before start() is ready waits (see start). */
  _connect() {
    const signaling = this._signalingFactory(this.id, { lastSeq: null, socket: this._socket });
    this._socket = null;
    this._signaling = signaling;
    signaling.addEventListener("server", (ev) => {
      if (this._closed) return;
      const msg = /** @type {CustomEvent<ServerMessage>} */ (ev).detail;
      if (this._ready || (this._roomKnown && EARLY_TYPES.has(msg.type))) this._onServer(msg);
      else this._held.push(msg);
    });
    signaling.addEventListener("state", () => {
      if (!this._closed && this._ready) this._onSignalingState();
    });
    signaling.connect();
  }

  /**
   * The first connection started at the present (no resume point); if the history page
   * ends before that, replay what lies between.
   * @param {number} latest  the first synced's latest_seq
   */
  _checkGap(latest) {
    if (this._gapChecked) return;
    this._gapChecked = true;
    if (this._historyTop < latest) this._signaling?.rewind?.(this._historyTop);
  }

  // ---- what the UI does ---------------------------------------------------------------

  /**
   * Send a text message; it appears at once, in state "sending".
   * @param {string} text
   * @returns {ChatMessage}
   */
  send(text) {
    this._resetTyping();
    return this._compose("text", text, null);
  }

  /**
   * React to a message with an emoji. Sending the same emoji again takes it back.
   * @param {number} seq  the target's seq (only numbered messages take reactions)
   * @param {string} emoji
   * @returns {ChatMessage}  the (hidden) reaction message
   */
  react(seq, emoji) {
    if (!Number.isInteger(seq) || seq < 0) throw new TypeError("react() needs the target message's seq");
    if (typeof emoji !== "string" || !emoji || emoji.length > MAX_EMOJI_CHARS) throw new TypeError("react() needs an emoji");
    return this._compose("reaction", emoji, seq);
  }

  /**
   * Put a failed message back to "sending" and send it again (same id).
   * @param {string} id
   * @returns {boolean}  false when there is no such failed message
   */
  retry(id) {
    const m = this.me && this._byKey.get(keyOf(this.me.participant_id, id));
    if (!m || m.state !== "failed") return false;
    m.state = "sending";
    if (this._refuseOversize(m)) return true;
    this._queue(m);
    this._sendToServer(m);
    this._sendToPeers(m);
    this._touched(m);
    return true;
  }

  /**
   * The person has seen everything up to `seq`; told to the others after a short pause.
   * @param {number} seq
   */
  markRead(seq) {
    if (!Number.isInteger(seq) || seq <= this._read.wanted) return;
    this._read.wanted = seq;
    if (this._read.timer === null) {
      this._read.timer = this._clock.setTimeout(() => {
        this._read.timer = null;
        this._flushRead();
      }, READ_DEBOUNCE_MS);
    }
  }

  /**
   * The person is typing (true on every keystroke is fine: throttled) or stopped.
   * @param {boolean} active
   */
  setTyping(active) {
    if (!this.me || this._closed) return;
    const t = this._typing;
    this._clock.clearTimeout(t.idleTimer);
    t.idleTimer = null;
    if (!active) {
      if (t.active) this._sendTyping(false);
      this._resetTyping();
      return;
    }
    t.idleTimer = this._clock.setTimeout(() => this.setTyping(false), TYPING_IDLE_MS);
    const now = this._clock.now();
    if (!t.active || now - t.sentAt >= TYPING_RESEND_MS) {
      this._sendTyping(true);
      t.sentAt = now;
    }
    t.active = true;
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
    if (!this.hasMore || this._minSeq === null) return (this.hasMore = false);
    const page = await this._api.getMessages(this.id, { before: this._minSeq, limit: PAGE_SIZE });
    for (const msg of page.messages) this._fromServer(msg);
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
    return this._compose("file", body, null);
  }

  /**
   * Open a file-transfer data channel on the direct link to a peer; null without an open link.
   * @param {string} peerId
   * @param {string} label
   * @returns {ChannelLike | null}
   */
  openDataChannel(peerId, label) {
    return this._mesh?.openDataChannel?.(peerId, label) ?? null;
  }

  // ---- composing and the outbox -------------------------------------------------------

  /**
   * @param {ChatKind} kind
   * @param {unknown} body
   * @param {number | null} ref
   * @returns {ChatMessage}
   */
  _compose(kind, body, ref) {
    if (!this.me || !this._hlc) throw new Error("ChatRoom.start() has not completed");
    /** @type {ChatMessage} */
    const m = {
      id: this._newId(),
      seq: null,
      hlc: this._hlc.now(),
      sender: this.me.participant_id,
      sender_name: this.me.name,
      ts: this._clock.now() / 1000,
      kind,
      ref,
      body,
      state: "sending",
      reactions: new Map(),
    };
    this._add(m);
    if (this._refuseOversize(m)) return m;
    this._queue(m);
    this._sendToServer(m);
    this._sendToPeers(m);
    return m;
  }

  /**
   * Fail a message the server would refuse for its size before it goes anywhere: once a
   * peer has it over a data channel there is no taking it back.
   * @param {ChatMessage} m
   * @returns {boolean}  whether it was refused
   */
  _refuseOversize(m) {
    const size = new TextEncoder().encode(JSON.stringify(m.body)).length;
    if (size <= this._maxBodyBytes) return false;
    m.state = "failed";
    this._touched(m);
    const message = `Chat bodies are limited to ${this._maxBodyBytes} bytes.`;
    this._emit("error", { code: "body_too_large", message });
    return true;
  }

  /** Into the outbox (memory and store) until the server acks it. @param {ChatMessage} m */
  _queue(m) {
    if (!this._pending.has(m.id)) this._pending.set(m.id, { attempt: 0, timer: null });
    this._pendingChanged();
    const item = this._outboxItem(m);
    this._storeOp(() => this._store.outboxAdd(item));
  }

  /** Out of the outbox: acked, or failed for good. @param {string} id */
  _unqueue(id) {
    const entry = this._pending.get(id);
    if (!entry) return;
    this._clock.clearTimeout(entry.timer);
    this._pending.delete(id);
    this._pendingChanged();
    this._storeOp(() => this._store.outboxRemove(id));
  }

  /** Signaling pings more often while anything waits for an ack. */
  _pendingChanged() {
    this._signaling?.awaitAcks?.(this._pending.size > 0);
  }

  /** @param {() => Promise<void>} op */
  _storeOp(op) {
    this._storeQueue = this._storeQueue.then(op).catch((err) => debug("chat", "outbox write failed", err));
  }

  /**
   * @param {ChatMessage} m
   * @returns {OutboxItem}
   */
  _outboxItem(m) {
    const { id, hlc, sender, sender_name, kind, ref, body } = m;
    return { id, room_id: this.id, hlc, sender, sender_name, kind, ref, body, created_at: m.ts ?? 0 };
  }

  /**
   * The outbox as stored (empty when unreadable).
   * @returns {Promise<OutboxItem[]>}
   */
  async _readOutbox() {
    try {
      return await this._store.outboxList(this.id);
    } catch (err) {
      debug("chat", "outbox unreadable", err);
      return [];
    }
  }

  /**
   * After a reload: unsent messages reappear as "sending" (unless history has them).
   * @param {OutboxItem[]} items
   * @returns {ChatMessage[]}  the messages put back
   */
  _restoreOutbox(items) {
    /** @type {ChatMessage[]} */
    const restored = [];
    for (const item of items) {
      const known = this._byKey.get(keyOf(item.sender, item.id));
      if (known?.seq != null) {
        this._storeOp(() => this._store.outboxRemove(item.id)); // stored before the reload
        continue;
      }
      this._hlc?.receive(item.hlc); // never hand out a timestamp below one already used
      const { id, hlc, sender, sender_name, kind, ref, body, created_at } = item;
      /** @type {ChatMessage} */
      const m = { id, seq: null, hlc, sender, sender_name, ts: created_at, kind, ref, body, state: "sending", reactions: new Map() };
      this._add(m);
      this._pending.set(id, { attempt: 0, timer: null });
      restored.push(m);
    }
    this._pendingChanged();
    return restored;
  }

  /** @param {ChatMessage} m */
  _sendToServer(m) {
    // While a `stored` question is open, everything waits for its answer (then the flush
    // sends the missing and the new ones, oldest first).
    if (this.serverState !== "online" || !this._signaling || this._storedDue !== null) return false;
    return this._signaling.send({ type: "chat", id: m.id, body: m.body, kind: m.kind, ref: m.ref });
  }

  /**
   * @param {ChatMessage} m
   * @param {string} [peerId]  default: every open channel
   */
  _sendToPeers(m, peerId) {
    if (!this._mesh) return;
    /** @type {PeerChatMsg} */
    const out = { t: "chat", id: m.id, sender: m.sender, sender_name: m.sender_name, hlc: m.hlc, kind: m.kind, ref: m.ref, body: m.body };
    if (m.seq !== null) out.seq = m.seq;
    this._mesh.send(out, peerId);
  }

  /** Own messages waiting for an ack, oldest first. @returns {ChatMessage[]} */
  _unacked() {
    const waiting = [...this._pending.keys()]
      .map((id) => this.me && this._byKey.get(keyOf(this.me.participant_id, id)))
      .filter((m) => m && m.state !== "failed" && m.seq === null);
    return /** @type {ChatMessage[]} */ (waiting).sort((a, b) => compareHlc(a.hlc, b.hlc));
  }

  /**
   * The connection is (back) up: ask which of the waiting messages the server has
   * stored (their acks may have been lost), then send the rest (_onStored).
   */
  _resumeOutbox() {
    const ids = this._unacked().map((m) => m.id);
    if (ids.length === 0 || !this._signaling) return;
    const parts = [];
    for (let i = 0; i < ids.length; i += MAX_STORED_IDS) parts.push(ids.slice(i, i + MAX_STORED_IDS));
    this._storedDue = parts.length; // before sending: an answer may come at once
    for (const part of parts) {
      if (!this._signaling.send({ type: "stored", ids: part })) {
        this._storedDue = null; // the connection is gone; the next one asks again
        return;
      }
    }
  }

  /**
   * The answer to a `stored` question: the stored ones are acked, and once every part
   * is answered the rest is sent.
   * @param {import("./protocol.js").StoredMsg} answer
   */
  _onStored(answer) {
    for (const ack of answer.acks) this._onAck(ack);
    if (this._storedDue === null) return;
    this._storedDue -= 1;
    if (this._storedDue > 0) return;
    this._storedDue = null;
    this._flushOutbox();
  }

  /** The `stored` question went unanswered (an older server, or refused): resend all. */
  _storedFailed() {
    this._storedDue = null;
    this._flushOutbox();
  }

  /** Send what waits, oldest first, once each (the server drops an id it has already). */
  _flushOutbox() {
    for (const m of this._unacked()) {
      const entry = this._pending.get(m.id);
      if (entry) {
        this._clock.clearTimeout(entry.timer);
        entry.timer = null;
      }
      this._sendToServer(m);
    }
  }

  /**
   * A transient refusal: try again later, waiting longer each time.
   * @param {ChatMessage} m
   */
  _scheduleRetry(m) {
    const entry = this._pending.get(m.id);
    if (!entry || entry.timer !== null) return;
    const base = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** entry.attempt);
    entry.attempt += 1;
    entry.timer = this._clock.setTimeout(() => {
      entry.timer = null;
      if (this._pending.get(m.id) === entry && m.seq === null) this._sendToServer(m);
    }, base / 2 + this._random() * (base / 2));
  }

  // ---- the message list ---------------------------------------------------------------

  /** @param {ChatMessage} m */
  _add(m) {
    this._byKey.set(keyOf(m.sender, m.id), m);
    if (m.seq !== null) this._numbered(m);
    if (m.kind === "reaction") this._indexReaction(m);
    this._touched(m);
    if (m.kind === "file") this._emit("file", m); // once per message: the transfer engine
  }

  /** Bookkeeping once a message has its seq. @param {ChatMessage} m */
  _numbered(m) {
    const seq = /** @type {number} */ (m.seq);
    this._minSeq = this._minSeq === null ? seq : Math.min(this._minSeq, seq);
    this._maxSeq = this._maxSeq === null ? seq : Math.max(this._maxSeq, seq);
    if (m.kind === "reaction") return;
    this._bySeq.set(seq, m);
    if (this._reactionKeys.has(seq)) this._aggregate(seq); // its reactions came first
  }

  /** Something about m changed: re-sort, re-aggregate, tell the UI. @param {ChatMessage} m */
  _touched(m) {
    this._dirty = true;
    if (m.kind === "reaction" && m.ref !== null) this._aggregate(m.ref);
    this._changed();
  }

  /**
   * Merge a message from the server (live, replayed or from history).
   * @param {MessageMsg} msg
   */
  _fromServer(msg) {
    const mine = msg.sender === this.me?.participant_id;
    const m = this._byKey.get(keyOf(msg.sender, msg.id));
    if (!m) {
      const hlc = formatHlc(Math.round(msg.ts * 1000), 0, msg.sender);
      const { id, seq, sender, sender_name, ts, kind, ref, body } = msg;
      const state = mine ? this._ownState(seq, "sent") : "sent";
      this._add({ id, seq, hlc, sender, sender_name, ts, kind, ref, body, state, reactions: new Map() });
    } else {
      const fresh = m.seq === null;
      Object.assign(m, { seq: msg.seq, ts: msg.ts, sender_name: msg.sender_name, body: msg.body });
      m.state = mine ? this._ownState(msg.seq, m.state) : "sent";
      if (fresh) this._numbered(m);
      this._touched(m);
    }
    if (mine) this._unqueue(msg.id); // stored: an ack lost with a dropped connection is no loss
    this._clearTyping(msg.sender);
  }

  /**
   * @param {{id: string, seq: number, ts: number}} ack
   */
  _onAck({ id, seq, ts }) {
    const m = this.me && this._byKey.get(keyOf(this.me.participant_id, id));
    this._unqueue(id);
    if (!m) return;
    const fresh = m.seq === null;
    m.seq = seq;
    m.ts = ts;
    m.state = this._ownState(seq, m.state);
    if (fresh) this._numbered(m);
    this._touched(m);
  }

  /**
   * The state of an own message that now has a seq: at least "sent", "read" if covered.
   * @param {number} seq
   * @param {MessageState} current
   * @returns {MessageState}
   */
  _ownState(seq, current) {
    let state = RANK[current] >= RANK.sent ? current : "sent";
    if (seq <= this._maxOtherRead) state = "read";
    return state;
  }

  /**
   * @param {ChatMessage} m
   * @param {MessageState} state
   */
  _advance(m, state) {
    if (RANK[state] <= RANK[m.state]) return;
    m.state = state;
    this._touched(m);
  }

  /**
   * @param {{code: string, message: string}} error
   * @param {string} ref  the chat id
   */
  _onChatError(error, ref) {
    const m = this.me && this._byKey.get(keyOf(this.me.participant_id, ref));
    if (!m || !this._pending.has(ref)) return;
    if (/** @type {readonly string[]} */ (TRANSIENT_CHAT_ERRORS).includes(error.code)) {
      this._scheduleRetry(m);
      return;
    }
    // Permanent, or a code this client does not know: retrying blindly could loop forever.
    debug("chat", "message refused", ref, error.code, /** @type {readonly string[]} */ (PERMANENT_CHAT_ERRORS).includes(error.code) ? "" : "(unknown code)");
    this._unqueue(ref);
    m.state = "failed";
    this._touched(m);
    this._emit("error", { code: error.code, message: error.message });
  }

  // ---- reactions ----------------------------------------------------------------------

  /** @param {ChatMessage} m */
  _indexReaction(m) {
    if (m.ref === null) return;
    let keys = this._reactionKeys.get(m.ref);
    if (!keys) this._reactionKeys.set(m.ref, (keys = new Set()));
    keys.add(keyOf(m.sender, m.id));
  }

  /**
   * Rebuild a message's reactions from its reaction messages. Toggle semantics: replayed
   * in display order, each reaction flips (participant, emoji) — the first adds it, an
   * identical second one takes it back, a third adds it again. Every client replays the
   * same seq order, so every client ends with the same reactions. Failed reactions and
   * bodies that are not short strings do not count.
   * @param {number} seq  the target
   */
  _aggregate(seq) {
    const target = this._bySeq.get(seq);
    const keys = this._reactionKeys.get(seq);
    if (!target || !keys) return;
    const reactions = /** @type {ChatMessage[]} */ ([...keys].map((k) => this._byKey.get(k)).filter(Boolean))
      .filter((r) => r.state !== "failed" && typeof r.body === "string" && r.body.length <= MAX_EMOJI_CHARS)
      .sort(compareMessages);
    /** @type {Map<string, Set<string>>} */
    const out = new Map();
    for (const r of reactions) {
      const emoji = /** @type {string} */ (r.body);
      const who = out.get(emoji) ?? new Set();
      if (who.has(r.sender)) who.delete(r.sender);
      else who.add(r.sender);
      if (who.size) out.set(emoji, who);
      else out.delete(emoji);
    }
    target.reactions = out;
    this._dirty = true;
  }

  // ---- read receipts ------------------------------------------------------------------

  _flushRead() {
    const { wanted, sent } = this._read;
    if (wanted <= sent || !this.me) return;
    if (this.serverState === "online" && this._signaling?.send({ type: "receipt", seq: wanted })) {
      this._read.sent = wanted;
      return;
    }
    // Server unreachable: tell the direct peers now, and the server once it is back.
    this._mesh?.send({ t: "read", participant_id: this.me.participant_id, seq: wanted });
  }

  /**
   * @param {string} participantId
   * @param {number} seq
   */
  _applyRead(participantId, seq) {
    if (!this.me || participantId === this.me.participant_id || !Number.isInteger(seq)) return;
    if (seq <= (this._readBy.get(participantId) ?? 0)) return;
    this._readBy.set(participantId, seq);
    if (seq <= this._maxOtherRead) return;
    this._maxOtherRead = seq;
    for (const m of this._bySeq.values()) {
      if (m.sender === this.me.participant_id && /** @type {number} */ (m.seq) <= seq) this._advance(m, "read");
    }
  }

  // ---- typing -------------------------------------------------------------------------

  /** @param {boolean} active */
  _sendTyping(active) {
    if (!this.me) return;
    if (this.serverState === "online" && this._signaling?.send({ type: "typing", active })) return;
    this._mesh?.send({ t: "typing", participant_id: this.me.participant_id, name: this.me.name, active });
  }

  /** Forget own typing state without telling anyone (a sent message ends it anyway). */
  _resetTyping() {
    const t = this._typing;
    this._clock.clearTimeout(t.idleTimer);
    Object.assign(t, { active: false, sentAt: -Infinity, idleTimer: null });
  }

  /**
   * @param {string} participantId
   * @param {string} name
   * @param {boolean} active
   */
  _typingFrom(participantId, name, active) {
    if (participantId === this.me?.participant_id) return; // my other tab
    if (!active) return this._clearTyping(participantId);
    this._clock.clearTimeout(this._typingTimers.get(participantId));
    this._typingTimers.set(participantId, this._clock.setTimeout(() => this._clearTyping(participantId), TYPING_EXPIRY_MS));
    if (this.typing.get(participantId) === name) return;
    this.typing.set(participantId, name);
    this._emit("typing");
  }

  /** @param {string} participantId */
  _clearTyping(participantId) {
    this._clock.clearTimeout(this._typingTimers.get(participantId));
    this._typingTimers.delete(participantId);
    if (this.typing.delete(participantId)) this._emit("typing");
  }

  // ---- server messages ----------------------------------------------------------------

  /** @param {ServerMessage} msg */
  _onServer(msg) {
    switch (msg.type) {
      case "welcome": return this._onWelcome(msg);
      case "presence": return this._onPresence(msg.event, msg.peer);
      case "message": return this._fromServer(msg);
      case "ack": return this._onAck(msg);
      case "signal": return this._mesh?.handleSignal(msg);
      case "typing": {
        const participant = this._peerInfo.get(msg.peer_id)?.participant_id ?? `peer:${msg.peer_id}`;
        return this._typingFrom(participant, msg.name, msg.active);
      }
      case "receipt": return this._applyRead(msg.participant_id, msg.seq);
      case "error": return this._onServerError(msg.error, msg.ref ?? null);
      case "synced": return this._checkGap(msg.latest_seq);
      case "stored": return this._onStored(msg);
      default: return undefined; // pong: handled by Signaling
    }
  }

  /** @param {WelcomeMsg} w */
  _onWelcome(w) {
    this.me = { participant_id: w.participant_id, peer_id: w.peer_id, name: w.name, role: w.role };
    this._maxBodyBytes = w.limits?.max_body_bytes ?? Infinity;
    this._peerInfo = new Map(w.peers.map((p) => [p.peer_id, p]));
    for (const [participant, seq] of Object.entries(w.read ?? {})) this._applyRead(participant, seq);
    // A new connection means a new peer id for me, and the others see me as a new peer:
    // links made under the old id cannot be reused, so the mesh starts over.
    this._mesh?.close({ notify: false });
    const mesh = this._meshFactory({
      selfPeerId: w.peer_id,
      meshLimit: this.meshLimit,
      iceServers: w.ice_servers,
      sendSignal: (to, kind, data) => this._signaling?.send({ type: "signal", to, kind, data }) ?? false,
    });
    this._mesh = mesh;
    this._listenToMesh(mesh);
    mesh.setPeers(w.peers);
    this._emit("peers");
    this._statusMaybeChanged();
  }

  /**
   * @param {"joined" | "left"} event
   * @param {PeerInfo} peer
   */
  _onPresence(event, peer) {
    if (event === "joined") {
      this._peerInfo.set(peer.peer_id, peer);
      this._mesh?.addPeer(peer);
    } else {
      this._peerInfo.delete(peer.peer_id);
      this._mesh?.removePeer(peer.peer_id);
      const stillHere = [...this._peerInfo.values()].some((p) => p.participant_id === peer.participant_id);
      if (!stillHere) this._clearTyping(peer.participant_id);
    }
    this._emit("peers");
  }

  /**
   * @param {{code: string, message: string}} error
   * @param {string | null} ref
   */
  _onServerError(error, ref) {
    if (ref !== null) return this._onChatError(error, ref);
    if (this._storedDue !== null && STORED_REFUSED.has(error.code)) return this._storedFailed();
    // Before welcome an error announces a close (reported from the close code); a
    // signal to a peer who just left is routine.
    if (this._signaling?.state === "connecting" || error.code === ERROR_CODES.PEER_NOT_FOUND) return;
    this._emit("error", { code: error.code, message: error.message });
  }

  _onSignalingState() {
    const signaling = /** @type {SignalingLike} */ (this._signaling);
    const { state } = signaling;
    const previous = this._signalingState;
    this._signalingState = state;
    if (state === previous) return; // a repeated event must not flush the outbox twice
    if (state === "open") {
      this._setServerState("online");
      this._resumeOutbox();
      this._flushRead();
    } else if (state === "waiting" || state === "closed") {
      this._storedDue = null; // unanswered with the connection: the next one asks again
      this._setServerState("offline");
    }
    if (state === "closed" && signaling.closeReason && signaling.closeReason !== "closed") {
      this._ended(signaling.closeReason);
    }
  }

  /** @param {CloseReason} reason */
  _ended(reason) {
    this.ended = reason;
    /** @type {Record<string, {code: string, message: string}>} */
    const errors = {
      unauthorized: { code: ERROR_CODES.UNAUTHORIZED, message: "You are not signed in to this room any more; join it again with an invite." },
      removed: { code: ERROR_CODES.PARTICIPANT_REMOVED, message: "The room's owner removed you from this room." },
      room_gone: { code: ERROR_CODES.ROOM_NOT_FOUND, message: "This room has been deleted." },
      unsupported_version: { code: ERROR_CODES.UNSUPPORTED_VERSION, message: "This page is out of date; reload it." },
    };
    if (reason === "room_gone") this._emit("deleted");
    const error = errors[reason];
    if (error) this._emit("error", error);
    this._emit("status");
  }

  /** @param {ServerState} state */
  _setServerState(state) {
    if (this.serverState === state) return;
    this.serverState = state;
    this._emit("status");
  }

  // ---- peer-to-peer messages ----------------------------------------------------------

  /** @param {MeshLike} mesh */
  _listenToMesh(mesh) {
    mesh.addEventListener("peers", () => {
      if (this._closed || mesh !== this._mesh) return;
      this._emit("peers");
      this._statusMaybeChanged();
    });
    mesh.addEventListener("open", (ev) => {
      if (this._closed || mesh !== this._mesh) return;
      this._onChannelOpen(/** @type {CustomEvent<{peerId: string}>} */ (ev).detail.peerId);
    });
    mesh.addEventListener("datachannel", (ev) => {
      if (this._closed || mesh !== this._mesh) return;
      const detail = /** @type {CustomEvent<{channel: ChannelLike}>} */ (ev).detail;
      // Before start() is ready the transfers are not loaded: refused, as for a transfer
      // unknown here (the peer tries again).
      if (!this._ready) detail.channel.close();
      else this._emit("datachannel", detail);
    });
    mesh.addEventListener("data", (ev) => {
      if (this._closed || mesh !== this._mesh) return;
      const { peerId, message } = /** @type {CustomEvent<{peerId: string, message: PeerMessage}>} */ (ev).detail;
      if (this._ready) this._fromPeer(peerId, message);
      else this._heldData.push([peerId, message]);
    });
  }

  /** Greet a new channel and hand it what the server has not confirmed yet. @param {string} peerId */
  _onChannelOpen(peerId) {
    if (!this.me || !this._mesh) return;
    this._mesh.send({ t: "hello", participant_id: this.me.participant_id, name: this.me.name }, peerId);
    for (const id of this._pending.keys()) {
      const m = this._byKey.get(keyOf(this.me.participant_id, id));
      if (m && m.state !== "failed") this._sendToPeers(m, peerId);
    }
    this._statusMaybeChanged();
  }

  /**
   * @param {string} peerId
   * @param {PeerMessage} msg
   */
  _fromPeer(peerId, msg) {
    // The server vouches for who is behind a peer id; a peer cannot speak for anyone else.
    const participant = this._mesh?.peers.get(peerId)?.participant_id;
    if (!participant) return;
    switch (msg.t) {
      case "chat":
        if (msg.sender === participant) this._chatFromPeer(peerId, msg);
        return;
      case "ack": {
        const m = this.me && msg.sender === this.me.participant_id ? this._byKey.get(keyOf(msg.sender, String(msg.id))) : null;
        if (m && m.state !== "failed") this._advance(m, "delivered");
        return;
      }
      case "read":
        if (msg.participant_id === participant) this._applyRead(participant, msg.seq);
        return;
      case "typing":
        if (msg.participant_id === participant) this._typingFrom(participant, String(msg.name ?? ""), Boolean(msg.active));
        return;
      default:
        return; // hello: nothing to do beyond the channel being open
    }
  }

  /**
   * @param {string} peerId
   * @param {PeerChatMsg} msg
   */
  _chatFromPeer(peerId, msg) {
    if (!isPeerChat(msg)) return;
    const key = keyOf(msg.sender, msg.id);
    if (!this._byKey.has(key)) {
      this._hlc?.receive(msg.hlc);
      const { id, sender, sender_name, hlc, kind, body } = msg;
      const ref = msg.ref ?? null;
      // Its seq, if the peer sent one, is not trusted: the server's word decides the order.
      const mine = sender === this.me?.participant_id;
      this._add({ id, seq: null, hlc, sender, sender_name, ts: null, kind, ref, body, state: mine ? "sending" : "delivered", reactions: new Map() });
      this._clearTyping(sender);
    }
    this._mesh?.send({ t: "ack", id: msg.id, sender: msg.sender }, peerId); // again for a resend: the first ack may be lost
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

  _statusMaybeChanged() {
    const direct = this.directCount;
    if (direct === this._lastDirect) return;
    this._lastDirect = direct;
    this._emit("status");
  }

  _directPeople() {
    const people = new Set();
    for (const view of this.peers.values()) {
      if ((view.path === "direct" || view.path === "turn") && view.participant_id !== this.me?.participant_id) {
        people.add(view.participant_id);
      }
    }
    return people.size;
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
 * A data-channel chat with the fields and types the room needs.
 * @param {PeerChatMsg} m
 * @returns {boolean}
 */
function isPeerChat(m) {
  return typeof m.id === "string" && m.id.length > 0 && m.id.length <= 64
    && typeof m.sender === "string" && typeof m.sender_name === "string"
    && typeof m.hlc === "string" && CHAT_KINDS.includes(m.kind)
    && (m.ref === null || m.ref === undefined || Number.isInteger(m.ref));
}

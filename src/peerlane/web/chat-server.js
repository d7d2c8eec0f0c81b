// The room's server connection: the WebSocket (signaling.js), what the server says and
// where it goes (the message log, the outbox, presence, the direct links), and the
// connection's state. ChatRoom (chat.js) owns one.
//
// start() connects before the room is known: what the server says meanwhile is held.
// Once the room is known (its mesh_limit), "welcome", "presence" and "signal" are
// handled, so the mesh makes its first offers while the history and the stores load;
// once ChatRoom is ready (history and outbox in place), everything is, in order.
//
// The first connection starts at the present (no resume point) while the latest history
// page comes over HTTP: should that page end before the first `synced`'s latest_seq (a
// message stored between the two), the rest is replayed (Signaling.rewind).

import { ERROR_CODES } from "./protocol.js";

/** @typedef {import("./chat-log.js").MessageLog} MessageLog */
/** @typedef {import("./chat-outbox.js").Outbox} Outbox */
/** @typedef {import("./chat-presence.js").Presence} Presence */
/** @typedef {import("./chat-peers.js").PeerLinks} PeerLinks */
/** @typedef {import("./chat-types.js").SignalingLike} SignalingLike */
/** @typedef {import("./chat-types.js").SocketLike} SocketLike */
/** @typedef {import("./chat-types.js").SignalingState} SignalingState */
/** @typedef {import("./chat-types.js").CloseReason} CloseReason */
/** @typedef {import("./protocol.js").ClientMessage} ClientMessage */
/** @typedef {import("./protocol.js").ServerMessage} ServerMessage */
/** @typedef {import("./protocol.js").MessageMsg} MessageMsg */
/** @typedef {import("./protocol.js").WelcomeMsg} WelcomeMsg */
/** @typedef {import("./protocol.js").PeerInfo} PeerInfo */
/** @typedef {import("./protocol.js").PakeInMsg} PakeInMsg */

/** Server messages for the mesh: handled as soon as the room is known. */
const EARLY_TYPES = new Set(["welcome", "presence", "signal"]);
/**
 * Errors (without ref) that mean a `stored` question will not be answered: a server that
 * does not know it, or refused it. The outbox then resends everything (idempotent by id).
 */
const STORED_REFUSED = new Set(
  /** @type {string[]} */ ([ERROR_CODES.UNKNOWN_TYPE, ERROR_CODES.INVALID_MESSAGE, ERROR_CODES.RATE_LIMITED]),
);

/**
 * What the server connection needs of its room.
 * @typedef {{
 *   roomId: string,
 *   signalingFactory: (roomId: string, options: {lastSeq: number | null, socket?: SocketLike | null}) => SignalingLike,
 *   log: MessageLog, outbox: Outbox, presence: Presence, links: PeerLinks,
 *   meshLimit: () => number, closed: () => boolean,
 *   welcome: (w: WelcomeMsg) => void,
 *   fromServer: (msg: MessageMsg) => void,
 *   onAck: (ack: {id: string, seq: number, ts: number}) => void,
 *   chatError: (error: {code: string, message: string}, ref: string) => void,
 *   online: (online: boolean) => void,
 *   ended: (reason: CloseReason) => void,
 *   emit: (type: string, detail?: unknown) => void,
 *   pake?: (msg: PakeInMsg) => void,
 * }} ServerLinkHost
 *   welcome: who I am now (ChatRoom.me) and the server's limits.
 *   online: the connection is open (true) or lost (false).
 *   ended: the server closed the connection for good.
 *   pake: a join by code for this member to answer (join-answers.js).
 */

export class ServerLink {
  /** @param {ServerLinkHost} host */
  constructor(host) {
    this._host = host;
    /** @type {SignalingLike | null} */
    this.signaling = null;
    /** "early": hold everything; "known": the mesh's messages pass; "ready": all pass. */
    this._stage = /** @type {"early" | "known" | "ready"} */ ("early");
    /** Server messages held until their stage, in order. @type {ServerMessage[]} */
    this._held = [];
    /** Peers the server told us about: peer id → info. @type {Map<string, PeerInfo>} */
    this._peerInfo = new Map();
    /** The highest seq of the history page start() loaded. */
    this.historyTop = 0;
    this._gapChecked = false;
    /** @type {SignalingState | null} */
    this._state = null;
    /** Who I am, from the latest welcome (before the room has taken it). @type {string | null} */
    this.participantId = null;
  }

  /**
   * Open the room's WebSocket (or take over the one given).
   * @param {SocketLike | null} socket
   */
  connect(socket) {
    const signaling = this._host.signalingFactory(this._host.roomId, { lastSeq: null, socket });
    this.signaling = signaling;
    signaling.addEventListener("server", (ev) => {
      if (this._host.closed()) return;
      const msg = /** @type {CustomEvent<ServerMessage>} */ (ev).detail;
      if (msg.type === "welcome") this.participantId = msg.participant_id;
      if (this._passes(msg)) this._onServer(msg);
      else this._held.push(msg);
    });
    signaling.addEventListener("pake", (ev) => {
      if (!this._host.closed()) this._host.pake?.(/** @type {CustomEvent<PakeInMsg>} */ (ev).detail);
    });
    signaling.addEventListener("state", () => {
      if (!this._host.closed() && this._stage === "ready") this.stateChanged();
    });
    signaling.connect();
  }

  /** The room is known: handle the mesh's held messages (and theirs from now on). */
  known() {
    this._stage = "known";
    this._release();
  }

  /** The room is ready: handle everything held, in order, and the connection's state. */
  ready() {
    this._stage = "ready";
    this._release();
  }

  /**
   * @param {ClientMessage} message
   * @returns {boolean}  false without an open connection
   */
  send(message) {
    return this.signaling?.send(message) ?? false;
  }

  close() {
    this.signaling?.close();
  }

  /** React to the connection's state (once per change: a repeat must not flush twice). */
  stateChanged() {
    const signaling = /** @type {SignalingLike} */ (this.signaling);
    const { state } = signaling;
    const previous = this._state;
    this._state = state;
    if (state === previous) return;
    if (state === "open") {
      this._host.online(true);
      this._host.outbox.resume();
      this._host.presence.flushRead();
    } else if (state === "waiting" || state === "closed") {
      this._host.outbox.connectionLost();
      this._host.online(false);
    }
    if (state === "closed" && signaling.closeReason && signaling.closeReason !== "closed") {
      this._host.ended(signaling.closeReason);
    }
  }

  /** @param {ServerMessage} msg */
  _passes(msg) {
    return this._stage === "ready" || (this._stage === "known" && EARLY_TYPES.has(msg.type));
  }

  _release() {
    const held = this._held.splice(0);
    for (const msg of held) {
      if (this._passes(msg)) this._onServer(msg);
      else this._held.push(msg);
    }
  }

  /** @param {ServerMessage} msg */
  _onServer(msg) {
    const { links, presence, outbox } = this._host;
    switch (msg.type) {
      case "welcome":
        return this._onWelcome(msg);
      case "presence":
        return this._onPresence(msg.event, msg.peer);
      case "message":
        return this._host.fromServer(msg);
      case "ack":
        return this._host.onAck(msg);
      case "signal":
        return links.mesh?.handleSignal(msg);
      case "typing": {
        const participant = this._peerInfo.get(msg.peer_id)?.participant_id ?? `peer:${msg.peer_id}`;
        return presence.typingFrom(participant, msg.name, msg.active);
      }
      case "receipt":
        return presence.applyRead(msg.participant_id, msg.seq);
      case "error":
        return this._onError(msg.error, msg.ref ?? null);
      case "synced":
        return this._checkGap(msg.latest_seq);
      case "stored":
        return outbox.onStored(msg);
      case "keys":
        return this._host.emit("keys", msg); // the people panel's Roster (e2e keys)
      default:
        return undefined; // pong: handled by Signaling
    }
  }

  /** @param {WelcomeMsg} w */
  _onWelcome(w) {
    this._host.welcome(w);
    this._peerInfo = new Map(w.peers.map((p) => [p.peer_id, p]));
    for (const [participant, seq] of Object.entries(w.read ?? {})) this._host.presence.applyRead(participant, seq);
    this._host.links.restart({
      selfPeerId: w.peer_id,
      meshLimit: this._host.meshLimit(),
      iceServers: w.ice_servers,
      connectTimeoutMs: connectTimeoutMs(w),
      peers: w.peers,
    });
  }

  /**
   * @param {"joined" | "left"} event
   * @param {PeerInfo} peer
   */
  _onPresence(event, peer) {
    const mesh = this._host.links.mesh;
    if (event === "joined") {
      this._peerInfo.set(peer.peer_id, peer);
      mesh?.addPeer(peer);
    } else {
      this._peerInfo.delete(peer.peer_id);
      mesh?.removePeer(peer.peer_id);
      const stillHere = [...this._peerInfo.values()].some((p) => p.participant_id === peer.participant_id);
      if (!stillHere) this._host.presence.clearTyping(peer.participant_id);
    }
    this._host.emit("peers");
  }

  /**
   * @param {{code: string, message: string}} error
   * @param {string | null} ref
   */
  _onError(error, ref) {
    if (ref !== null) return this._host.chatError(error, ref);
    const outbox = this._host.outbox;
    if (outbox.asking && STORED_REFUSED.has(error.code)) return outbox.storedFailed();
    // Before welcome an error announces a close (reported from the close code); a
    // signal to a peer who just left is routine.
    if (this.signaling?.state === "connecting" || error.code === ERROR_CODES.PEER_NOT_FOUND) return;
    this._host.emit("error", { code: error.code, message: error.message });
  }

  /**
   * The first connection started at the present (no resume point); if the history page
   * ends before that, replay what lies between.
   * @param {number} latest  the first synced's latest_seq
   */
  _checkGap(latest) {
    if (this._gapChecked) return;
    this._gapChecked = true;
    if (this.historyTop < latest) this.signaling?.rewind?.(this.historyTop);
  }
}

/**
 * The welcome's mesh_connect_timeout in ms, or undefined (an older server, or a value that
 * is no time: the mesh keeps its own 15 s rather than give up at once).
 * @param {WelcomeMsg} w
 */
export function connectTimeoutMs(w) {
  const seconds = w.mesh_connect_timeout;
  return typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0
    ? Math.round(seconds * 1000)
    : undefined;
}

// The room's direct links: the mesh (mesh.js), made anew on each welcome, and the
// data-channel vocabulary of the chat (docs/protocol.md, "Peer messages"): a hello on a
// new channel, chat messages with their acks, read positions, typing. ChatRoom (chat.js)
// owns one; what the peers say goes into the message log and presence.
//
// The server vouches for who is behind a peer id: a peer cannot speak for anyone else.
// Until ChatRoom is ready (history and outbox in place), what peers send is held and
// file channels they open are refused (the transfers are not loaded; the peer tries
// again).

import { isPeerChat } from "./chat-log.js";
import { CHANGE_KINDS, CHAT_KINDS } from "./protocol.js";

/** What a peer may say over a data channel: edits and deletions only come from the server. */
const PEER_CHAT_KINDS = CHAT_KINDS.filter((kind) => !CHANGE_KINDS.includes(kind));

/** @typedef {import("./chat-log.js").ChatMessage} ChatMessage */
/** @typedef {import("./chat-log.js").MessageLog} MessageLog */
/** @typedef {import("./chat-outbox.js").Outbox} Outbox */
/** @typedef {import("./chat-presence.js").Presence} Presence */
/** @typedef {import("./chat-types.js").Me} Me */
/** @typedef {import("./chat-types.js").MeshLike} MeshLike */
/** @typedef {import("./chat-types.js").MeshFactoryOptions} MeshFactoryOptions */
/** @typedef {import("./chat-types.js").ChannelLike} ChannelLike */
/** @typedef {import("./hlc.js").Hlc} Hlc */
/** @typedef {import("./mesh.js").PeerView} PeerView */
/** @typedef {import("./protocol.js").PeerInfo} PeerInfo */
/** @typedef {import("./protocol.js").PeerMessage} PeerMessage */
/** @typedef {import("./protocol.js").PeerChatMsg} PeerChatMsg */
/** @typedef {import("./protocol.js").IceServerInfo} IceServerInfo */

/**
 * What the links need of their room.
 * @typedef {{
 *   meshFactory: (options: MeshFactoryOptions) => MeshLike,
 *   sendSignal: MeshFactoryOptions["sendSignal"],
 *   log: MessageLog, outbox: Outbox, presence: Presence,
 *   me: () => Me | null, hlc: () => Hlc | null,
 *   ready: () => boolean, closed: () => boolean,
 *   emit: (type: string, detail?: unknown) => void,
 *   e2e?: import("./e2e/room-crypto.js").RoomCrypto | null,
 * }} PeerLinksHost
 *   ready: history and outbox are in place (before, data is held, file channels refused).
 *   e2e: an encrypted room's crypto: chat goes out sealed and is opened as it arrives.
 *   emit: a room event ("peers", "status", "datachannel").
 */

/** @type {Map<string, PeerView>} */
const NO_PEERS = new Map();

export class PeerLinks {
  /** @param {PeerLinksHost} host */
  constructor(host) {
    this._host = host;
    /** @type {MeshLike | null} */
    this.mesh = null;
    /** Peer messages that came before the room was ready, in order. @type {[string, PeerMessage][]} */
    this._held = [];
    this._lastDirect = 0;
  }

  /** peer id → PeerView, for every other peer in the room. */
  get peers() {
    return this.mesh?.peers ?? NO_PEERS;
  }

  /** Open direct data channels. */
  get openCount() {
    return this.mesh?.openCount ?? 0;
  }

  /**
   * A welcome. With my peer id unchanged (the server took my resume token) the mesh goes
   * on: links whose channel is open keep carrying the chat (Mesh.resume). A new peer id
   * means the others see me as a new peer: links made under the old id cannot be reused,
   * so the mesh starts over.
   * @param {{selfPeerId: string, meshLimit: number, iceServers: IceServerInfo[], connectTimeoutMs?: number,
   *   peers: PeerInfo[]}} options  connectTimeoutMs: the welcome's (absent: the mesh's own 15 s)
   */
  restart({ selfPeerId, meshLimit, iceServers, connectTimeoutMs, peers }) {
    const kept = this.mesh;
    if (kept?.resume && kept.selfPeerId === selfPeerId && kept.meshLimit === meshLimit) {
      kept.resume({ peers, iceServers, connectTimeoutMs });
      this._host.emit("peers");
      this._statusMaybeChanged();
      return;
    }
    this.mesh?.close({ notify: false });
    const sendSignal = this._host.sendSignal;
    const mesh = this._host.meshFactory({ selfPeerId, meshLimit, iceServers, connectTimeoutMs, sendSignal });
    this.mesh = mesh;
    this._listen(mesh);
    mesh.setPeers(peers);
    this._host.emit("peers");
    this._statusMaybeChanged();
  }

  /**
   * To every open channel, or one peer's.
   * @param {PeerMessage} message
   * @param {string} [peerId]
   */
  send(message, peerId) {
    this.mesh?.send(message, peerId);
  }

  /**
   * A chat message to the peers (with its seq, when it has one: a hint, not trusted).
   * @param {ChatMessage} m
   * @param {string} [peerId]  default: every open channel
   */
  sendChat(m, peerId) {
    const body = this._host.e2e ? this._host.e2e.wire(m) : m.body;
    if (!this.mesh || body === undefined) return; // not sealed yet: it goes out once it is
    /** @type {PeerChatMsg} */
    const out = {
      t: "chat",
      id: m.id,
      sender: m.sender,
      sender_name: m.sender_name,
      hlc: m.hlc,
      kind: m.kind,
      ref: m.ref,
      body,
    };
    if (m.seq !== null) out.seq = m.seq;
    this.mesh.send(out, peerId);
  }

  /** The room is ready: handle what the peers sent meanwhile, in order. */
  release() {
    for (const [peerId, message] of this._held.splice(0)) this._fromPeer(peerId, message);
  }

  /** @param {{notify?: boolean}} [options]  notify: say bye to the peers */
  close(options) {
    this.mesh?.close(options);
  }

  /** @param {MeshLike} mesh */
  _listen(mesh) {
    const current = () => !this._host.closed() && mesh === this.mesh;
    mesh.addEventListener("peers", () => {
      if (!current()) return;
      this._host.emit("peers");
      this._statusMaybeChanged();
    });
    mesh.addEventListener("open", (ev) => {
      if (current()) this._onOpen(/** @type {CustomEvent<{peerId: string}>} */ (ev).detail.peerId);
    });
    mesh.addEventListener("datachannel", (ev) => {
      if (!current()) return;
      const detail = /** @type {CustomEvent<{channel: ChannelLike}>} */ (ev).detail;
      if (!this._host.ready()) detail.channel.close();
      else this._host.emit("datachannel", detail);
    });
    mesh.addEventListener("data", (ev) => {
      if (!current()) return;
      const { peerId, message } = /** @type {CustomEvent<{peerId: string, message: PeerMessage}>} */ (ev).detail;
      if (this._host.ready()) this._fromPeer(peerId, message);
      else this._held.push([peerId, message]);
    });
  }

  /** Greet a new channel and hand it what the server has not confirmed yet. @param {string} peerId */
  _onOpen(peerId) {
    const me = this._host.me();
    if (!me || !this.mesh) return;
    this.mesh.send({ t: "hello", participant_id: me.participant_id, name: me.name }, peerId);
    for (const m of this._host.outbox.waiting()) this.sendChat(m, peerId);
    this._host.emit("channel-open", { peerId });
    this._statusMaybeChanged();
  }

  /**
   * @param {string} peerId
   * @param {PeerMessage} msg
   */
  _fromPeer(peerId, msg) {
    const participant = this.mesh?.peers.get(peerId)?.participant_id;
    if (!participant) return;
    const { log, presence } = this._host;
    switch (msg.t) {
      case "chat":
        if (msg.sender !== participant) return;
        if (this._host.e2e) this._host.e2e.deliver(msg, (opened) => this._chatFromPeer(peerId, opened));
        else this._chatFromPeer(peerId, msg);
        return;
      case "ack": {
        const me = this._host.me();
        const m = me && msg.sender === me.participant_id ? log.get(msg.sender, String(msg.id)) : null;
        if (m && m.state !== "failed") log.advance(m, "delivered");
        return;
      }
      case "read":
        if (msg.participant_id === participant) presence.applyRead(participant, msg.seq);
        return;
      case "typing":
        if (msg.participant_id === participant)
          presence.typingFrom(participant, String(msg.name ?? ""), Boolean(msg.active));
        return;
      case "moved": // a moved room's new link, only ever over a data channel (e2e/room-move.js)
        if (typeof msg.link === "string") this._host.emit("moved-link", { peerId, participant, link: msg.link });
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
    if (!isPeerChat(msg, PEER_CHAT_KINDS)) return;
    const { log, presence } = this._host;
    if (!log.get(msg.sender, msg.id)) {
      this._host.hlc()?.receive(msg.hlc);
      log.fromPeer(msg, this._host.me()?.participant_id);
      presence.clearTyping(msg.sender);
    }
    this.mesh?.send({ t: "ack", id: msg.id, sender: msg.sender }, peerId); // again for a resend: the first ack may be lost
  }

  /** The room's status names how many are reached directly: say when that changes. */
  _statusMaybeChanged() {
    const direct = this.openCount;
    if (direct === this._lastDirect) return;
    this._lastDirect = direct;
    this._host.emit("status");
  }
}

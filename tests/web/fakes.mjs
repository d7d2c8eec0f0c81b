// Recording fakes for the browser client's modules, so they run under node --test:
// a manual clock, a signaling connection and a mesh driven by the test, an HTTP API,
// a WebSocket, and a pair of RTCPeerConnections that "connect" through memory.

import { formatHlc } from "../../src/peerlane/web/hlc.js";

/** Let pending promise callbacks and microtasks run (a few rounds: chains are short). */
export async function settle(rounds = 5) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** One turn of the event loop: every promise callback and microtask due now has run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Wait until `cond()` holds, letting promise callbacks, microtasks and immediates run
 * meanwhile; fail after `ms` of real time, naming `what`. For asynchronous work, without
 * guessing how many rounds it takes.
 * @param {() => unknown} cond
 * @param {string} [what]
 * @param {number} [ms]
 */
export async function until(cond, what = "the condition", ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await turn();
  }
}

/**
 * Whether a promise has settled by now. Work that resolves it synchronously (an event
 * handler, a timer of a FakeClock) has run its callbacks by the next turn of the loop,
 * so false means it is really still waiting.
 * @param {Promise<unknown>} promise
 */
export async function hasSettled(promise) {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await turn();
  return done;
}

/** Timers that fire only when the test advances time. */
export class FakeClock {
  constructor(start = 1_700_000_000_000) {
    this.t = start;
    this.nextId = 1;
    /** @type {Map<number, {at: number, fn: () => void}>} */
    this.timers = new Map();
  }

  now() {
    return this.t;
  }

  setTimeout(fn, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  /** Move time forward, firing due timers in time order (also ones they schedule). */
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let due = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (due === null || timer.at < due[1].at)) due = [id, timer];
      }
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}

/** A Signaling stand-in: the test plays the server. */
export class FakeSignaling extends EventTarget {
  constructor(roomId, options) {
    super();
    this.roomId = roomId;
    this.options = options;
    this.lastSeq = options.lastSeq;
    this.state = "idle";
    this.closeReason = null;
    /** every message the room sent while connected */
    this.sent = [];
    /** messages the room tried to send while not connected */
    this.refused = [];
    this.connects = 0;
    /**
     * Playing the server, the fake answers each `stored` question at once from this map
     * (own chat id → {seq, ts}; empty: nothing stored, so everything is resent). A test
     * that answers itself sets answerStored = false.
     */
    this.storedIds = new Map();
    this.answerStored = true;
    /** awaitAcks calls, in order */
    this.awaiting = [];
  }

  awaitAcks(busy) {
    this.awaiting.push(busy);
  }

  connect() {
    this.connects += 1;
    this.setState("connecting");
  }

  /** The room asks for a replay after seq (its history ends before the present). */
  rewind(seq) {
    this.rewinds = [...(this.rewinds ?? []), seq];
    this.lastSeq = seq;
  }

  send(message) {
    if (this.state !== "syncing" && this.state !== "open") {
      this.refused.push(message);
      return false;
    }
    this.sent.push(message);
    if (message.type === "stored" && this.answerStored) {
      const acks = message.ids
        .filter((id) => this.storedIds.has(id))
        .map((id) => ({ type: "ack", id, ...this.storedIds.get(id) }));
      this.server({ type: "stored", acks, missing: message.ids.filter((id) => !this.storedIds.has(id)) });
    }
    return true;
  }

  close() {
    this.closeReason = "closed";
    this.setState("closed");
  }

  setState(state, closeReason = null) {
    this.state = state;
    if (closeReason) this.closeReason = closeReason;
    this.dispatchEvent(new CustomEvent("state", { detail: { state } }));
  }

  server(message) {
    this.dispatchEvent(new CustomEvent("server", { detail: message }));
  }

  /** hello → welcome → (replayed messages) → synced, as the real server does. */
  join({
    peerId = "p-me",
    participantId = "me",
    name = "Me",
    peers = [],
    read = {},
    replay = [],
    latest = 0,
    limits = {},
    meshConnectTimeout, // welcome.mesh_connect_timeout: left out when undefined (an older server)
  } = {}) {
    if (this.state !== "connecting") this.setState("connecting");
    this.setState("syncing");
    this.server({
      type: "welcome",
      v: 1,
      peer_id: peerId,
      participant_id: participantId,
      name,
      role: "owner",
      room_id: this.roomId,
      room_name: "Room",
      peers,
      latest_seq: latest,
      ice_servers: [],
      read,
      limits,
      ...(meshConnectTimeout === undefined ? {} : { mesh_connect_timeout: meshConnectTimeout }),
    });
    for (const m of replay) this.server(m);
    this.server({ type: "synced", latest_seq: latest });
    this.setState("open");
  }

  drop() {
    this.setState("waiting");
  }

  /** Sent messages of one type. */
  sentOf(type) {
    return this.sent.filter((m) => m.type === type);
  }
}

/**
 * ChatRoom's signaling and mesh factories (`factories`, to spread into its options), making
 * fakes and keeping each one made, in order (`signalings`, `meshes`).
 */
export function recordingFactories() {
  const signalings = [];
  const meshes = [];
  return {
    signalings,
    meshes,
    factories: {
      signalingFactory: (roomId, options) => {
        const s = new FakeSignaling(roomId, options);
        signalings.push(s);
        return s;
      },
      meshFactory: (options) => {
        const m = new FakeMesh(options);
        meshes.push(m);
        return m;
      },
    },
  };
}

/** A Mesh stand-in: channels open when the test says so. */
export class FakeMesh extends EventTarget {
  constructor(options) {
    super();
    this.options = options;
    this.peers = new Map();
    this.open = new Set();
    /** {message, peerId} for every message that went out on a channel */
    this.sent = [];
    this.signals = [];
    this.closed = null;
  }

  get openCount() {
    return this.open.size;
  }

  setPeers(peers) {
    this.peers = new Map(peers.map((p) => [p.peer_id, view(p)]));
  }

  addPeer(peer) {
    this.peers.set(peer.peer_id, view(peer));
  }

  removePeer(peerId) {
    this.peers.delete(peerId);
    this.open.delete(peerId);
  }

  handleSignal(signal) {
    this.signals.push(signal);
  }

  send(message, peerId) {
    const targets = peerId === undefined ? [...this.open] : this.open.has(peerId) ? [peerId] : [];
    for (const target of targets) this.sent.push({ message: structuredClone(message), peerId: target });
    return targets.length;
  }

  close(options) {
    this.closed = options ?? {};
    if (this.closed.notify !== false) {
      for (const peerId of this.open) this.options.sendSignal(peerId, "bye", { reason: "leave" });
    }
  }

  /** Open the channel to a peer (added first if unknown). */
  openChannel(peer) {
    if (!this.peers.has(peer.peer_id)) this.addPeer(peer);
    this.open.add(peer.peer_id);
    Object.assign(this.peers.get(peer.peer_id), { path: "direct" });
    this.dispatchEvent(new CustomEvent("peers"));
    this.dispatchEvent(new CustomEvent("open", { detail: { peerId: peer.peer_id } }));
  }

  /** A message arrives on a channel. */
  receive(peerId, message) {
    this.dispatchEvent(new CustomEvent("data", { detail: { peerId, message } }));
  }

  sentOf(t) {
    return this.sent.filter((s) => s.message.t === t);
  }
}

function view(p) {
  return { ...p, path: "server", iceState: "none", signalingState: "none", rttMs: null, problem: null, direct: true };
}

/** The two HTTP calls ChatRoom makes, answered from an array of server messages. */
export function fakeApi({ history = [], participant = { id: "me", name: "Me", role: "owner" }, meshLimit = 8 } = {}) {
  const calls = [];
  return {
    calls,
    history,
    async getRoom(roomId) {
      calls.push(["getRoom", roomId]);
      return {
        room: {
          id: roomId,
          name: "Room",
          created_at: 0,
          latest_seq: history.length,
          retention: {},
          url: `/r/${roomId}`,
        },
        participant: { ...participant, online: false },
        mesh_limit: meshLimit,
      };
    },
    async getMessages(roomId, { before, limit = 50 } = {}) {
      calls.push(["getMessages", roomId, { before, limit }]);
      const older = history.filter((m) => before === undefined || m.seq < before);
      return { messages: older.slice(-limit), has_more: older.length > limit };
    },
  };
}

/** A server message. */
export function serverMessage(
  seq,
  {
    id = `m${seq}`,
    sender = "alice",
    name = "Alice",
    body = `hello ${seq}`,
    kind = "text",
    ref = null,
    ts,
    edited_at = null,
    deleted_at = null,
  } = {},
) {
  return {
    type: "message",
    seq,
    id,
    sender,
    sender_name: name,
    ts: ts ?? 1_700_000_000 + seq,
    kind,
    ref,
    body,
    edited_at,
    deleted_at,
  };
}

// ---- WebSocket ------------------------------------------------------------------------

export class FakeWebSocket {
  static instances = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = null;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    FakeWebSocket.instances.push(this);
  }

  static get last() {
    return FakeWebSocket.instances.at(-1);
  }

  send(data) {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(JSON.parse(data));
  }

  close(code, reason) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // driven by the test:
  serverOpen() {
    this.readyState = 1;
    this.onopen?.({});
  }

  serverSend(message) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  serverClose(code, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

// ---- RTCPeerConnection ----------------------------------------------------------------

let pcCounter = 0;
/** sdp → the connection that made it, so an answer finds its offerer */
const bySdp = new Map();

class FakeChannel extends EventTarget {
  constructor(pc, label, options) {
    super();
    this.pc = pc;
    this.label = label;
    this.options = options;
    this.readyState = "connecting";
    this.bufferedAmount = 0;
    this.onopen = this.onclose = this.onmessage = null;
    this.sent = [];
  }

  send(data) {
    if (this.readyState !== "open") throw new Error("channel not open");
    this.sent.push(data);
    const peer = this.pc.partner?.channels.find((c) => c.options?.id === this.options?.id);
    queueMicrotask(() => {
      peer?.onmessage?.({ data });
      peer?.dispatchEvent(new MessageEvent("message", { data }));
    });
  }

  close() {
    this.readyState = "closed";
  }

  /** Test helper: open, with both the handler and the event. */
  _open() {
    if (this.readyState !== "connecting") return;
    this.readyState = "open";
    this.onopen?.({});
    this.dispatchEvent(new Event("open"));
  }
}

let extraChannelIds = 0;

/**
 * Offer/answer state machine close enough to the browser's for perfect negotiation:
 * implicit setLocalDescription(), implicit rollback of a local offer on a remote offer,
 * negotiationneeded after createDataChannel and restartIce. Two connections whose
 * descriptions match "connect" and open their negotiated channels.
 */
export class FakePeerConnection {
  static all = [];

  constructor(config) {
    this.id = ++pcCounter;
    this.config = config;
    this.signalingState = "stable";
    this.iceConnectionState = "new";
    this.connectionState = "new";
    this.localDescription = null;
    this.remoteDescription = null;
    this.channels = [];
    this.partner = null;
    this.restarts = 0;
    this.candidates = [];
    this.stats = null;
    this.onnegotiationneeded = this.onicecandidate = this.oniceconnectionstatechange = null;
    this.onsignalingstatechange = this.onconnectionstatechange = null;
    FakePeerConnection.all.push(this);
  }

  createDataChannel(label, options) {
    // A channel that is not pre-negotiated, on a connected pair, reaches the partner
    // through ondatachannel (as the file-transfer channels do).
    const inBand = !options?.negotiated && this.partner;
    const channel = new FakeChannel(this, label, inBand ? { ...options, id: `x${++extraChannelIds}` } : options);
    this.channels.push(channel);
    if (inBand) {
      const partner = this.partner;
      queueMicrotask(() => {
        const remote = new FakeChannel(partner, label, channel.options);
        partner.channels.push(remote);
        partner.ondatachannel?.({ channel: remote });
        channel._open();
        remote._open();
      });
      return channel;
    }
    this._negotiationNeeded();
    return channel;
  }

  _negotiationNeeded() {
    queueMicrotask(() => {
      if (this.signalingState === "stable" && !this.partner) this.onnegotiationneeded?.();
      else if (this.signalingState === "stable" && this._restartPending) this.onnegotiationneeded?.();
    });
  }

  async setLocalDescription() {
    this._check();
    let type;
    if (this.signalingState === "have-remote-offer") {
      type = "answer";
      this.signalingState = "stable";
    } else {
      type = "offer";
      this.signalingState = "have-local-offer";
    }
    const sdp = `${type}:${this.id}:${++pcCounter}`;
    bySdp.set(sdp, this);
    this.localDescription = { type, sdp, toJSON: () => ({ type, sdp }) };
    this.onsignalingstatechange?.();
    if (type === "answer") this._maybeConnect();
    else
      queueMicrotask(() =>
        this.onicecandidate?.({ candidate: { toJSON: () => ({ candidate: `c${this.id}`, sdpMid: "0" }) } }),
      );
  }

  async setRemoteDescription(desc) {
    this._check();
    if (desc.type === "offer") {
      if (this.signalingState === "have-local-offer") this.localDescription = null; // rollback
      this.signalingState = "have-remote-offer";
    } else {
      if (this.signalingState !== "have-local-offer")
        throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
      this.signalingState = "stable";
    }
    this.remoteDescription = { ...desc };
    this.onsignalingstatechange?.();
    if (desc.type === "answer") this._maybeConnect();
  }

  async addIceCandidate(candidate) {
    this._check();
    if (!this.remoteDescription) throw new Error("InvalidStateError: no remote description");
    this.candidates.push(candidate);
  }

  restartIce() {
    this.restarts += 1;
    this._restartPending = true;
    this._negotiationNeeded();
  }

  async getStats() {
    return this.stats ?? new Map();
  }

  close() {
    this.signalingState = "closed";
    this.connectionState = "closed";
    for (const c of this.channels) c.readyState = "closed";
  }

  /** Test helper: ICE gives up. */
  failIce() {
    this.iceConnectionState = "failed";
    this.connectionState = "failed";
    this.oniceconnectionstatechange?.();
  }

  _check() {
    if (this.signalingState === "closed") throw new Error("InvalidStateError: closed");
  }

  _maybeConnect() {
    const other = bySdp.get(this.remoteDescription?.sdp);
    if (other?.signalingState !== "stable" || other.remoteDescription?.sdp !== this.localDescription?.sdp) return;
    this._restartPending = other._restartPending = false;
    for (const pc of [this, other]) {
      const first = !pc.partner;
      pc.partner = pc === this ? other : this;
      pc.iceConnectionState = "connected";
      pc.connectionState = "connected";
      pc.oniceconnectionstatechange?.();
      pc.onconnectionstatechange?.();
      if (first) {
        for (const c of pc.channels) {
          c.readyState = "open";
          queueMicrotask(() => c.onopen?.({}));
        }
      }
    }
  }
}

/** A peer's chat message as it arrives over a data channel (alice's, "a1"), with ``over``. */
export const peerChat = (over = {}) => ({
  t: "chat",
  id: "a1",
  sender: "alice",
  sender_name: "Alice",
  hlc: formatHlc(1_700_000_000_500, 0, "alice"),
  kind: "text",
  ref: null,
  body: "hi from alice",
  ...over,
});

// Direct peer-to-peer links: one RTCPeerConnection with one "chat" data channel per peer.
//
// Who connects to whom: sort every peer id in the room (mine included); the first
// mesh_limit + 1 form a full mesh, everyone else talks through the server only. Each side
// applies the same rule to the same list, so a link is wanted by both ends or by neither,
// and nobody has more than mesh_limit direct links.
//
// Negotiation follows the "perfect negotiation" pattern of the WebRTC spec: the peer with
// the lower id is polite (on an offer collision it rolls back and answers), the other is
// impolite (it ignores the colliding offer). To avoid a collision on every new link, only
// the impolite side makes the first offer; the polite side answers and may renegotiate
// later (ICE restarts). The data channel is pre-negotiated (negotiated: true, id 0) on
// both sides, so there is no ondatachannel race.
//
// `bye` signals carry {reason}: "leave" (I am going), "not_chosen" (I do not want a link
// with you under the rule above, my peer list says so), "restart" (polite → impolite: I
// waited for your offer in vain, please start over), "reset" (impolite → polite: I threw
// my connection away, a fresh offer follows).
//
// File transfers add their own channels on an open link (openDataChannel, label "file:<id>");
// the peer's side arrives as a "datachannel" event. Other labels are refused.

import { debug } from "./debug.js";
import { systemClock } from "./hlc.js";
import { parsePeerMessage } from "./protocol.js";

/** @typedef {import("./protocol.js").PeerInfo} PeerInfo */
/** @typedef {import("./protocol.js").PeerMessage} PeerMessage */
/** @typedef {import("./protocol.js").SignalKind} SignalKind */
/** @typedef {import("./protocol.js").IceServerInfo} IceServerInfo */
/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {"direct" | "turn" | "server" | "connecting"} Path */

/**
 * What the UI shows per peer (mutated in place; a "peers" event follows each change).
 * @typedef {{
 *   peer_id: string, participant_id: string, name: string, role: string,
 *   path: Path, iceState: string, signalingState: string, rttMs: number | null,
 *   problem: string | null, direct: boolean,
 * }} PeerView
 *   direct: chosen for a direct link by the mesh rule. iceState/signalingState are the
 *   RTCPeerConnection's, or "none" without one.
 */

/**
 * @typedef {{
 *   selfPeerId: string,
 *   meshLimit: number,
 *   iceServers?: IceServerInfo[],
 *   sendSignal: (to: string, kind: SignalKind, data: unknown) => boolean,
 *   RTCPeerConnection?: typeof RTCPeerConnection | null,
 *   clock?: Clock,
 *   connectTimeoutMs?: number,
 *   statsIntervalMs?: number,
 * }} MeshOptions
 */

export const PROBLEMS = Object.freeze({
  iceFailed:
    "No direct route between you (a firewall or strict NAT is in the way). Messages go through the server. An operator can add a TURN server to fix this.",
  timeout:
    "Could not connect directly within 15 seconds (a firewall or strict NAT may be in the way). Messages go through the server. An operator can add a TURN server to fix this.",
  channelClosed: "Direct connection lost; reconnecting…",
  overLimit:
    "Not connected directly: the room has more people than the direct-connection limit. Messages go through the server.",
  disabled: "Direct connections are turned off on this server. Messages go through the server.",
  unsupported: "This browser cannot make direct connections. Messages go through the server.",
});

/** Problems that stay on display while a new connection is tried. */
/** @type {readonly string[]} */
const RETRYING = [PROBLEMS.iceFailed, PROBLEMS.timeout, PROBLEMS.channelClosed];

const MAX_FRAME_CHARS = 256 * 1024; // a peer sending more is broken or hostile
const MAX_BUFFERED = 4 * 1024 * 1024; // skip a channel this far behind rather than queue without bound
const MAX_RESTARTS = 5; // ICE restarts per link, and "restart" requests per peer
const FRESH_LINK_MS = 3_000; // a link this young is already starting over: no need to again
const EXTRA_PREFIX = "file:"; // labels of the extra channels peers may open (file transfers)

/**
 * The peers to link with directly (see the rule at the top). Same answer on both ends.
 * @param {string} selfId
 * @param {Iterable<string>} peerIds  the other peers
 * @param {number} limit  mesh_limit
 * @returns {Set<string>}
 */
export function chooseDirectPeers(selfId, peerIds, limit) {
  const everyone = [...new Set([selfId, ...peerIds])].sort();
  const mesh = everyone.slice(0, Math.max(0, limit) + 1);
  if (!mesh.includes(selfId)) return new Set();
  return new Set(mesh.filter((id) => id !== selfId));
}

/** One peer connection and its negotiation state. */
class Link {
  /**
   * @param {string} peerId
   * @param {boolean} polite
   * @param {RTCPeerConnection} pc
   * @param {number} now  clock ms
   */
  constructor(peerId, polite, pc, now) {
    this.peerId = peerId;
    this.createdAt = now;
    this.polite = polite;
    this.pc = pc;
    /** @type {RTCDataChannel | null} */
    this.channel = null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.negotiated = false; // a remote description was applied at least once
    this.restarts = 0;
    /** Extra data channels (file transfers) on this connection. @type {Set<RTCDataChannel>} */
    this.extraChannels = new Set();
    /** Signals are handled one at a time, in arrival order. @type {Promise<void>} */
    this.queue = Promise.resolve();
    /** @type {unknown} */
    this.connectTimer = null;
    /** @type {unknown} */
    this.restartTimer = null;
    /** @type {"direct" | "turn" | null} from getStats */
    this.statsPath = null;
    this.closed = false;
  }

  get open() {
    return this.channel?.readyState === "open";
  }
}

export class Mesh extends EventTarget {
  /** @param {MeshOptions} options */
  constructor(options) {
    super();
    this.selfPeerId = options.selfPeerId;
    this.meshLimit = options.meshLimit;
    this._iceServers = options.iceServers ?? [];
    this._sendSignal = options.sendSignal;
    this._RTC =
      options.RTCPeerConnection === undefined ? (globalThis.RTCPeerConnection ?? null) : options.RTCPeerConnection;
    this._clock = options.clock ?? systemClock;
    this._connectWithin = options.connectTimeoutMs ?? 15_000;
    this._statsEvery = options.statsIntervalMs ?? 2_000;
    /** Every other peer in the room, by peer id. @type {Map<string, PeerView>} */
    this.peers = new Map();
    /** @type {Map<string, Link>} */
    this._links = new Map();
    /** @type {Set<string>} */
    this._chosen = new Set();
    /** "restart" requests sent per peer since its channel was last open. @type {Map<string, number>} */
    this._requests = new Map();
    /** @type {unknown} */
    this._statsTimer = null;
    this._closed = false;
    this._scheduleStats();
  }

  /** Number of peers with an open data channel. */
  get openCount() {
    let n = 0;
    for (const link of this._links.values()) if (link.open) n += 1;
    return n;
  }

  /** @param {string} peerId */
  isOpen(peerId) {
    return this._links.get(peerId)?.open ?? false;
  }

  /**
   * Open another data channel on the link to a peer (file transfers: docs/file-transfer.md).
   * Only on a link whose "chat" channel is open: SCTP is up, so no renegotiation is needed
   * and the peer gets it through ondatachannel at once.
   * @param {string} peerId
   * @param {string} label  "file:<transfer id>"
   * @returns {RTCDataChannel | null}
   */
  openDataChannel(peerId, label) {
    const link = this._links.get(peerId);
    if (!link?.open || !label.startsWith(EXTRA_PREFIX)) return null;
    try {
      const channel = link.pc.createDataChannel(label, { ordered: true });
      this._track(link, channel);
      return channel;
    } catch (err) {
      debug("mesh", "createDataChannel failed", peerId, err);
      return null;
    }
  }

  /**
   * Keep an extra channel with its link, so closing the link closes it visibly
   * (RTCPeerConnection.close() does not fire "close" on its channels).
   * @param {Link} link
   * @param {RTCDataChannel} channel
   */
  _track(link, channel) {
    link.extraChannels.add(channel);
    channel.addEventListener("close", () => link.extraChannels.delete(channel));
  }

  /**
   * A channel the peer opened: file transfers are handed on ("datachannel" event), any
   * other label is refused.
   * @param {Link} link
   * @param {RTCDataChannel} channel
   */
  _incomingChannel(link, channel) {
    if (!this._current(link) || !channel.label.startsWith(EXTRA_PREFIX)) {
      channel.close();
      return;
    }
    this._track(link, channel);
    // The largest message the peer takes (Chromium 256 KiB, Safari 64 KiB, …): frames must fit.
    const maxMessageSize = link.pc.sctp?.maxMessageSize ?? null;
    this.dispatchEvent(new CustomEvent("datachannel", { detail: { peerId: link.peerId, channel, maxMessageSize } }));
  }

  // ---- the peer list ------------------------------------------------------------------

  /** Replace the peer list (from welcome). @param {PeerInfo[]} peers */
  setPeers(peers) {
    const ids = new Set(peers.map((p) => p.peer_id));
    for (const id of [...this.peers.keys()]) if (!ids.has(id)) this._forget(id);
    for (const p of peers) this._remember(p);
    this._recompute();
  }

  /** A peer joined (presence). @param {PeerInfo} peer */
  addPeer(peer) {
    this._remember(peer);
    this._recompute();
  }

  /** A peer left (presence). @param {string} peerId */
  removePeer(peerId) {
    this._forget(peerId);
    this._recompute();
  }

  /** @param {PeerInfo} peer */
  _remember(peer) {
    if (peer.peer_id === this.selfPeerId) return;
    const view = this.peers.get(peer.peer_id);
    if (view) Object.assign(view, { participant_id: peer.participant_id, name: peer.name, role: peer.role });
    else this.peers.set(peer.peer_id, newView(peer));
  }

  /** @param {string} peerId */
  _forget(peerId) {
    this._closeLink(peerId);
    this.peers.delete(peerId);
  }

  /** Apply the mesh rule: open links newly wanted, drop links no longer wanted. */
  _recompute() {
    if (this._closed) return;
    this._chosen = chooseDirectPeers(this.selfPeerId, this.peers.keys(), this.meshLimit);
    for (const [id, view] of this.peers) {
      view.direct = this._chosen.has(id);
      if (!view.direct && this._links.has(id)) this._closeLink(id, "not_chosen");
      if (view.direct && !this._links.has(id)) this._startLink(id);
      if (!view.direct) {
        const problem = this.meshLimit > 0 ? PROBLEMS.overLimit : PROBLEMS.disabled;
        Object.assign(view, { path: "server", problem });
      }
    }
    this._changed();
  }

  // ---- links --------------------------------------------------------------------------

  /** @param {string} peerId @returns {Link | null} */
  _startLink(peerId) {
    const view = this.peers.get(peerId);
    if (!view) return null;
    const pc = this._newPeerConnection();
    if (!pc) {
      Object.assign(view, { path: "server", problem: PROBLEMS.unsupported });
      return null;
    }
    const link = new Link(peerId, this._isPolite(peerId), pc, this._clock.now());
    this._links.set(peerId, link);
    // Starting over after a failure: keep saying why until the new attempt succeeds.
    const problem = RETRYING.includes(view.problem ?? "") ? view.problem : null;
    Object.assign(view, { path: problem ? "server" : "connecting", problem, rttMs: null });
    this._wire(link);
    this._armConnectTimeout(link);
    return link;
  }

  /** @returns {RTCPeerConnection | null} */
  _newPeerConnection() {
    if (!this._RTC) return null;
    try {
      return new this._RTC({ iceServers: this._iceServers.map(iceServer) });
    } catch (err) {
      debug("mesh", "RTCPeerConnection failed", err);
      return null;
    }
  }

  /** @param {Link} link */
  _wire(link) {
    const { pc } = link;
    pc.onnegotiationneeded = () => this._negotiate(link);
    pc.onicecandidate = (ev) => {
      if (ev.candidate) this._signal(link, "candidate", ev.candidate.toJSON());
    };
    pc.oniceconnectionstatechange = () => this._iceChanged(link);
    pc.onsignalingstatechange = () => this._update(link);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") this._iceChanged(link);
      this._update(link);
    };
    pc.ondatachannel = (ev) => this._incomingChannel(link, ev.channel);
    const channel = pc.createDataChannel("chat", { negotiated: true, id: 0, ordered: true });
    link.channel = channel;
    channel.onopen = () => this._channelOpen(link);
    channel.onclose = () => this._channelClosed(link);
    channel.onmessage = (ev) => this._channelMessage(link, ev.data);
  }

  /** @param {Link} link */
  async _negotiate(link) {
    // The polite side leaves the first offer to the impolite side (no collision on every
    // new link); after that either side renegotiates, e.g. to restart ICE.
    if (link.polite && !link.negotiated) return;
    try {
      link.makingOffer = true;
      await link.pc.setLocalDescription();
      if (this._current(link)) this._signal(link, "offer", link.pc.localDescription?.toJSON());
    } catch (err) {
      debug("mesh", "negotiation failed", link.peerId, err);
    } finally {
      link.makingOffer = false;
    }
  }

  /**
   * A signal from the server, from `sender`.
   * @param {{sender: string, kind: SignalKind, data: unknown}} signal
   */
  handleSignal({ sender, kind, data }) {
    if (this._closed || !this.peers.has(sender)) return; // unknown peers are not answered
    if (kind === "bye") return this._bye(sender, data);
    let link = this._links.get(sender);
    if (!link && kind === "offer") {
      if (!this._chosen.has(sender)) {
        this._sendSignal(sender, "bye", { reason: "not_chosen" });
        return;
      }
      link = this._startLink(sender) ?? undefined;
    }
    if (!link) return;
    const current = link;
    current.queue = current.queue
      .then(() => this._apply(current, kind, data))
      .catch((err) => {
        debug("mesh", "signal failed", sender, kind, err);
      });
  }

  /**
   * Perfect negotiation, receiving side.
   * @param {Link} link
   * @param {SignalKind} kind
   * @param {unknown} data
   */
  async _apply(link, kind, data) {
    if (link.closed) return;
    const { pc } = link;
    if (kind === "candidate") {
      try {
        await pc.addIceCandidate(/** @type {RTCIceCandidateInit} */ (data));
      } catch (err) {
        if (!link.ignoreOffer) throw err; // candidates of an offer we ignored are expected to fail
      }
      return;
    }
    const description = /** @type {RTCSessionDescriptionInit} */ (data);
    const readyForOffer = !link.makingOffer && (pc.signalingState === "stable" || link.settingRemoteAnswer);
    const collision = kind === "offer" && !readyForOffer;
    link.ignoreOffer = !link.polite && collision;
    if (link.ignoreOffer) return;
    link.settingRemoteAnswer = kind === "answer";
    try {
      await pc.setRemoteDescription(description); // a polite side rolls back implicitly
    } finally {
      link.settingRemoteAnswer = false;
    }
    link.negotiated = true;
    if (kind === "offer") {
      await pc.setLocalDescription();
      this._signal(link, "answer", pc.localDescription?.toJSON());
    }
    this._update(link);
  }

  /**
   * @param {string} sender
   * @param {unknown} data
   */
  _bye(sender, data) {
    const reason = typeof data === "object" && data !== null ? /** @type {{reason?: unknown}} */ (data).reason : null;
    const wanted = this._chosen.has(sender);
    if (reason === "restart" && wanted && !this._isPolite(sender)) {
      const link = this._links.get(sender);
      const fresh = link && !link.negotiated && this._clock.now() - link.createdAt < FRESH_LINK_MS;
      if (!fresh) this._replaceLink(sender); // else our new offer is already on its way
      return;
    }
    if (reason === "reset" && wanted) {
      // The impolite side starts over; wait for its fresh offer on a fresh connection.
      this._closeLink(sender);
      this._startLink(sender);
      return this._changed();
    }
    this._closeLink(sender);
    const view = this.peers.get(sender);
    if (view) Object.assign(view, { path: "server", problem: reason === "leave" ? null : view.problem });
    this._changed();
  }

  /** Impolite side: throw the connection away and offer anew. @param {string} peerId */
  _replaceLink(peerId) {
    this._closeLink(peerId);
    this._sendSignal(peerId, "bye", { reason: "reset" });
    const link = this._startLink(peerId);
    if (link) link.restarts = MAX_RESTARTS; // a fresh link is the last resort
    this._changed();
  }

  /** Polite side: ask the impolite side for a fresh offer, a bounded number of times. @param {string} peerId */
  _requestRestart(peerId) {
    const sent = this._requests.get(peerId) ?? 0;
    if (sent >= MAX_RESTARTS) return;
    this._requests.set(peerId, sent + 1);
    this._sendSignal(peerId, "bye", { reason: "restart" });
  }

  /** @param {string} peerId */
  _isPolite(peerId) {
    return this.selfPeerId < peerId;
  }

  /**
   * @param {string} peerId
   * @param {"leave" | "not_chosen"} [notify]  tell the peer why, with a bye
   */
  _closeLink(peerId, notify) {
    const link = this._links.get(peerId);
    if (!link) return;
    this._links.delete(peerId);
    link.closed = true;
    this._clock.clearTimeout(link.connectTimer);
    this._clock.clearTimeout(link.restartTimer);
    if (notify) this._sendSignal(peerId, "bye", { reason: notify });
    const { pc, channel } = link;
    const wasOpen = link.open;
    pc.onnegotiationneeded = pc.onicecandidate = pc.oniceconnectionstatechange = null;
    pc.onsignalingstatechange = pc.onconnectionstatechange = pc.ondatachannel = null;
    if (channel) channel.onopen = channel.onclose = channel.onmessage = null;
    try {
      channel?.close();
      pc.close();
    } catch {
      // already closed
    }
    for (const extra of link.extraChannels) {
      try {
        extra.close();
      } catch {
        // already closed
      }
      extra.dispatchEvent(new Event("close")); // pc.close() closes it without an event
    }
    link.extraChannels.clear();
    const view = this.peers.get(peerId);
    if (view) Object.assign(view, { iceState: "none", signalingState: "none", rttMs: null, path: "server" });
    if (wasOpen) this.dispatchEvent(new CustomEvent("close", { detail: { peerId } }));
  }

  // ---- connection events --------------------------------------------------------------

  /** @param {Link} link */
  _armConnectTimeout(link) {
    this._clock.clearTimeout(link.connectTimer);
    link.connectTimer = this._clock.setTimeout(() => this._connectTimedOut(link), this._connectWithin);
  }

  /** @param {Link} link */
  _connectTimedOut(link) {
    if (!this._current(link) || link.open) return;
    const view = this.peers.get(link.peerId);
    if (view && view.problem !== PROBLEMS.iceFailed) Object.assign(view, { problem: PROBLEMS.timeout, path: "server" });
    // The polite side waits for offers; if none came, ask the impolite side to start over.
    if (link.polite && !link.negotiated) this._requestRestart(link.peerId);
    this._changed();
  }

  /** @param {Link} link */
  _iceChanged(link) {
    if (!this._current(link)) return;
    const { pc } = link;
    if (pc.iceConnectionState === "failed" || pc.connectionState === "failed") {
      const view = this.peers.get(link.peerId);
      if (view) Object.assign(view, { problem: PROBLEMS.iceFailed, path: link.open ? view.path : "server" });
      this._scheduleRestart(link);
    }
    this._update(link);
  }

  /**
   * Restart ICE after a failure, with growing pauses (the network may be down for a
   * while); after MAX_RESTARTS the link stays down until the peer list changes.
   * @param {Link} link
   */
  _scheduleRestart(link) {
    if (link.restartTimer !== null || link.restarts >= MAX_RESTARTS) return;
    const delay = Math.min(30_000, 1_000 * 2 ** link.restarts);
    link.restarts += 1;
    link.restartTimer = this._clock.setTimeout(() => {
      link.restartTimer = null;
      if (!this._current(link) || link.pc.iceConnectionState !== "failed") return;
      debug("mesh", "restarting ICE with", link.peerId);
      link.pc.restartIce(); // fires negotiationneeded → a new offer with fresh ICE credentials
      this._armConnectTimeout(link);
    }, delay);
  }

  /** @param {Link} link */
  _channelOpen(link) {
    if (!this._current(link)) return;
    this._clock.clearTimeout(link.connectTimer);
    link.restarts = 0;
    this._requests.delete(link.peerId);
    const view = this.peers.get(link.peerId);
    if (view) Object.assign(view, { problem: null, path: link.statsPath ?? "direct" });
    this.dispatchEvent(new CustomEvent("open", { detail: { peerId: link.peerId } }));
    this._update(link);
    void this._collectStats(link);
  }

  /** @param {Link} link */
  _channelClosed(link) {
    if (!this._current(link)) return;
    const view = this.peers.get(link.peerId);
    if (view) Object.assign(view, { problem: PROBLEMS.channelClosed, path: "server", rttMs: null });
    this.dispatchEvent(new CustomEvent("close", { detail: { peerId: link.peerId } }));
    this._changed();
    // A closed channel does not reopen: start over if the peer is still wanted. The
    // impolite side drives that; the polite side gets a fresh connection ready for its
    // offer (and asks for one if none comes: see _connectTimedOut).
    const peerId = link.peerId;
    this._clock.setTimeout(() => {
      if (!this._current(link) || !this._chosen.has(peerId)) return;
      if (!link.polite) return this._replaceLink(peerId);
      this._closeLink(peerId);
      this._startLink(peerId);
      this._changed();
    }, 1_000);
  }

  /**
   * @param {Link} link
   * @param {unknown} data
   */
  _channelMessage(link, data) {
    if (typeof data !== "string" || data.length > MAX_FRAME_CHARS) return;
    const message = parsePeerMessage(data);
    if (!message) return;
    this.dispatchEvent(new CustomEvent("data", { detail: { peerId: link.peerId, message } }));
  }

  // ---- sending ------------------------------------------------------------------------

  /**
   * Send a message on open channels: to one peer, or to every peer when peerId is omitted.
   * @param {PeerMessage} message
   * @param {string} [peerId]
   * @returns {number}  how many channels took it
   */
  send(message, peerId) {
    const text = JSON.stringify(message);
    const links = peerId === undefined ? [...this._links.values()] : [this._links.get(peerId)];
    let sent = 0;
    for (const link of links) {
      const channel = link?.channel;
      if (!link?.open || !channel || channel.bufferedAmount > MAX_BUFFERED) continue;
      try {
        channel.send(text);
        sent += 1;
      } catch (err) {
        debug("mesh", "channel send failed", link.peerId, err);
      }
    }
    return sent;
  }

  /**
   * Close every link. notify: say bye to each peer (false when the signaling connection
   * that knew these peer ids is gone anyway).
   * @param {{notify?: boolean}} [options]
   */
  close({ notify = true } = {}) {
    if (this._closed) return;
    this._closed = true;
    this._clock.clearTimeout(this._statsTimer);
    for (const id of [...this._links.keys()]) this._closeLink(id, notify ? "leave" : undefined);
    this._changed();
  }

  // ---- stats --------------------------------------------------------------------------

  _scheduleStats() {
    this._statsTimer = this._clock.setTimeout(async () => {
      if (this._closed) return;
      await Promise.all([...this._links.values()].filter((l) => l.open).map((l) => this._collectStats(l)));
      this._scheduleStats();
    }, this._statsEvery);
  }

  /**
   * Path and RTT from the selected ICE candidate pair: a local "relay" candidate means the
   * data goes through a TURN server.
   * @param {Link} link
   */
  async _collectStats(link) {
    let report;
    try {
      report = await link.pc.getStats();
    } catch {
      return;
    }
    const pair = selectedPair(report);
    const view = this.peers.get(link.peerId);
    if (!pair || !view || !this._current(link)) return;
    const local = report.get(pair.localCandidateId);
    link.statsPath = local?.candidateType === "relay" ? "turn" : "direct";
    const rtt =
      typeof pair.currentRoundTripTime === "number" ? Math.round(pair.currentRoundTripTime * 1000) : view.rttMs;
    const path = link.open ? link.statsPath : view.path;
    if (view.rttMs !== rtt || view.path !== path) {
      Object.assign(view, { rttMs: rtt, path });
      this._changed();
    }
  }

  // ---- helpers ------------------------------------------------------------------------

  /**
   * @param {Link} link
   * @param {SignalKind} kind
   * @param {unknown} data
   */
  _signal(link, kind, data) {
    if (!this._sendSignal(link.peerId, kind, data)) debug("mesh", "signal not sent (offline)", kind);
  }

  /** @param {Link} link  still the live link for its peer? */
  _current(link) {
    return !link.closed && this._links.get(link.peerId) === link;
  }

  /** Copy connection states into the view. @param {Link} link */
  _update(link) {
    const view = this.peers.get(link.peerId);
    if (!view || !this._current(link)) return;
    view.iceState = link.pc.iceConnectionState;
    view.signalingState = link.pc.signalingState;
    this._changed();
  }

  _changed() {
    this.dispatchEvent(new CustomEvent("peers"));
  }
}

/**
 * @param {RTCStatsReport} report
 * @returns {Record<string, any> | null}
 */
function selectedPair(report) {
  /** @type {Record<string, any> | null} */
  let nominated = null;
  for (const stat of report.values()) {
    if (stat.type === "transport" && stat.selectedCandidatePairId) {
      const pair = report.get(stat.selectedCandidatePairId);
      if (pair) return pair;
    }
    if (stat.type === "candidate-pair" && stat.nominated && stat.state === "succeeded") nominated ??= stat;
  }
  return nominated;
}

/**
 * The server's ICE server entry as RTCPeerConnection takes it (no null fields: a null
 * username would become the string "null").
 * @param {IceServerInfo} server
 * @returns {RTCIceServer}
 */
function iceServer(server) {
  /** @type {RTCIceServer} */
  const out = { urls: server.urls };
  if (server.username != null) out.username = server.username;
  if (server.credential != null) out.credential = server.credential;
  return out;
}

/**
 * @param {PeerInfo} peer
 * @returns {PeerView}
 */
function newView(peer) {
  return {
    peer_id: peer.peer_id,
    participant_id: peer.participant_id,
    name: peer.name,
    role: peer.role,
    path: "server",
    iceState: "none",
    signalingState: "none",
    rttMs: null,
    problem: null,
    direct: false,
  };
}

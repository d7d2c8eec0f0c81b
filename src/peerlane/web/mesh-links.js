// The links of a mesh, one per peer chosen for a direct link: making them, their
// connection's events, starting over after a failure (policy in mesh-restart.js), and the
// path in use (mesh-path.js), trying for a better one in the background (mesh-upgrade.js). Mesh (mesh.js) adds what the room and the signals say, and
// the channels' API. (docs/web-client.md, "Direct links".)

import { debug } from "./debug.js";
import { systemClock } from "./hlc.js";
import { localCount } from "./local-ms.js";
import { EXTRA_PREFIX, Link, newPeerConnection } from "./mesh-link.js";
import { negotiate } from "./mesh-negotiation.js";
import { readPath } from "./mesh-path.js";
import { chooseDirectPeers, connectProblem, PROBLEMS, RETRYING } from "./mesh-peers.js";
import { REJOIN_WITHIN_MS, RejoinWait } from "./mesh-rejoin.js";
import { iceRestartDelay, MAX_RESTARTS, REOPEN_AFTER_MS, RestartRequests } from "./mesh-restart.js";
import { PathUpgrades } from "./mesh-upgrade.js";
import { parsePeerMessage } from "./protocol.js";
import { maxMessageSizeOf } from "./sctp-limits.js";

/** @typedef {import("./protocol.js").SignalKind} SignalKind */
/** @typedef {import("./protocol.js").IceServerInfo} IceServerInfo */
/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {import("./mesh-peers.js").PeerView} PeerView */
/** @typedef {import("./mesh.js").MeshOptions} MeshOptions */

const MAX_FRAME_CHARS = 256 * 1024; // a peer sending more is broken or hostile

export class MeshLinks extends EventTarget {
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
    this._maxRestarts = options.maxIceRestarts ?? localCount("peerlaneIceRestarts") ?? MAX_RESTARTS;
    /** Every other peer in the room, by peer id. @type {Map<string, PeerView>} */
    this.peers = new Map();
    /** RTCPeerConnections made so far (a link's `serial` is its number among them). */
    this.connectionsMade = 0;
    /** @type {Map<string, Link>} */
    this._links = new Map();
    /** @type {Set<string>} */
    this._chosen = new Set();
    this._requests = new RestartRequests();
    this._upgrades = new PathUpgrades(this._clock, { firstMs: options.upgradeFirstMs, maxMs: options.upgradeMaxMs });
    this._rejoin = new RejoinWait(this._clock, options.rejoinWithinMs ?? REJOIN_WITHIN_MS, (id) => this.removePeer(id));
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

  /** The number of the connection to a peer (see connectionsMade), or null. @param {string} peerId */
  linkSerial(peerId) {
    return this._links.get(peerId)?.serial ?? null;
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
    link.track(channel);
    // The largest message the peer takes (Chromium 256 KiB, Safari 64 KiB, …): frames must fit.
    const maxMessageSize = maxMessageSizeOf(link.pc);
    this.dispatchEvent(new CustomEvent("datachannel", { detail: { peerId: link.peerId, channel, maxMessageSize } }));
  }

  /** A peer left (presence). @param {string} peerId */
  removePeer(peerId) {
    this._forget(peerId);
    this._recompute();
  }

  /** @param {string} peerId */
  _forget(peerId) {
    this._rejoin.end(peerId);
    this._upgrades.forget(peerId);
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

  /** @param {string} peerId @returns {Link | null} */
  _startLink(peerId) {
    const view = this.peers.get(peerId);
    if (!view) return null;
    const pc = newPeerConnection(this._RTC, this._iceServers);
    if (!pc) {
      Object.assign(view, { path: "server", problem: PROBLEMS.unsupported });
      return null;
    }
    this.connectionsMade += 1;
    const link = new Link(peerId, this._isPolite(peerId), pc, this._clock.now(), this.connectionsMade);
    this._links.set(peerId, link);
    // Starting over after a failure: keep saying why until the new attempt succeeds.
    const problem = RETRYING.includes(view.problem ?? "") ? view.problem : null;
    Object.assign(view, { path: problem ? "server" : "connecting", problem, rttMs: null });
    this._wire(link);
    this._armConnectTimeout(link);
    return link;
  }

  /** @param {Link} link */
  _wire(link) {
    const { pc } = link;
    const signal = this._signalFor(link);
    pc.onnegotiationneeded = () => negotiate(link, signal);
    pc.onicecandidate = (ev) => {
      if (ev.candidate) signal("candidate", ev.candidate.toJSON());
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

  /** Impolite side: throw the connection away and offer anew. @param {string} peerId */
  _replaceLink(peerId) {
    this._closeLink(peerId);
    this._sendSignal(peerId, "bye", { reason: "reset" });
    const link = this._startLink(peerId);
    if (link) link.restarts = this._maxRestarts; // a fresh link is the last resort
    this._changed();
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
    this._clock.clearTimeout(link.connectTimer);
    this._clock.clearTimeout(link.restartTimer);
    if (notify) this._sendSignal(peerId, "bye", { reason: notify });
    const wasOpen = link.open;
    link.shutDown();
    const view = this.peers.get(peerId);
    if (view) Object.assign(view, { iceState: "none", signalingState: "none", rttMs: null, path: "server" });
    if (wasOpen) this.dispatchEvent(new CustomEvent("close", { detail: { peerId } }));
  }

  /** @param {Link} link */
  _armConnectTimeout(link) {
    this._clock.clearTimeout(link.connectTimer);
    link.connectTimer = this._clock.setTimeout(() => this._connectTimedOut(link), this._connectWithin);
  }

  /** @param {Link} link */
  _connectTimedOut(link) {
    if (!this._current(link) || link.open) return;
    const view = this.peers.get(link.peerId);
    const failed = connectProblem("failed", this._iceServers);
    if (view && view.problem !== failed)
      Object.assign(view, { problem: connectProblem("timeout", this._iceServers), path: "server" });
    // The polite side waits for offers; if none came, ask the impolite side to start over.
    if (link.polite && !link.negotiated && this._requests.take(link.peerId))
      this._sendSignal(link.peerId, "bye", { reason: "restart" });
    this._upgradeLater(link);
    this._changed();
  }

  /** @param {Link} link */
  _iceChanged(link) {
    if (!this._current(link)) return;
    const { pc } = link;
    if (pc.iceConnectionState === "failed" || pc.connectionState === "failed") {
      if (this._rejoin.has(link.peerId)) return this.removePeer(link.peerId); // not back, and now unreachable
      const view = this.peers.get(link.peerId);
      const problem = connectProblem("failed", this._iceServers);
      if (view) Object.assign(view, { problem, path: link.open ? view.path : "server" });
      this._scheduleRestart(link);
    }
    this._update(link);
  }

  /**
   * Restart ICE after a failure, with growing pauses (mesh-restart.js).
   * @param {Link} link
   */
  _scheduleRestart(link) {
    const delay = iceRestartDelay(link, this._maxRestarts);
    if (link.restartTimer !== null) return;
    // Spent its restarts, or its chat channel is closed (a restart cannot reopen it).
    if (delay === null || link.channel?.readyState === "closed") return this._upgradeLater(link);
    link.restarts += 1;
    link.restartTimer = this._clock.setTimeout(() => {
      link.restartTimer = null;
      // Chromium ends a failed ICE as iceConnectionState "disconnected" with connectionState
      // "failed": either one says the path is gone.
      const { iceConnectionState, connectionState } = link.pc;
      if (!this._current(link) || (iceConnectionState !== "failed" && connectionState !== "failed")) return;
      if (link.channel?.readyState === "closed") return; // closed since: a fresh link, later
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
    link.everOpen = true;
    this._requests.reset(link.peerId);
    const view = this.peers.get(link.peerId);
    if (view) Object.assign(view, { problem: null, path: link.statsPath ?? "direct" });
    this.dispatchEvent(new CustomEvent("open", { detail: { peerId: link.peerId } }));
    this._update(link);
    void this._collectStats(link);
  }

  /** @param {Link} link */
  _channelClosed(link) {
    if (!this._current(link)) return;
    const peerId = link.peerId;
    if (this._rejoin.has(peerId)) return this.removePeer(peerId); // it is not coming back
    const view = this.peers.get(peerId);
    if (!link.everOpen) {
      // Firefox closes it when ICE fails before it ever connected: nothing was lost. A
      // fresh link at once would fail at once again and keep the peer "connecting" for
      // good (each offer restarts its timeout): start over after the upgrade pause.
      if (view) Object.assign(view, { problem: connectProblem("failed", this._iceServers), path: "server" });
      this._changed();
      return this._upgradeLater(link);
    }
    if (view) Object.assign(view, { problem: PROBLEMS.channelClosed, path: "server", rttMs: null });
    this.dispatchEvent(new CustomEvent("close", { detail: { peerId } }));
    this._changed();
    // A closed channel does not reopen: start over if the peer is still wanted. The
    // impolite side drives that; the polite side gets a fresh connection ready for its
    // offer (and asks for one if none comes: see _connectTimedOut).
    this._clock.setTimeout(() => {
      if (!this._current(link) || !this._chosen.has(peerId)) return;
      if (!link.polite) return this._replaceLink(peerId);
      this._closeLink(peerId);
      this._startLink(peerId);
      this._changed();
    }, REOPEN_AFTER_MS);
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

  _scheduleStats() {
    this._statsTimer = this._clock.setTimeout(async () => {
      if (this._closed) return;
      await Promise.all([...this._links.values()].filter((l) => l.open).map((l) => this._collectStats(l)));
      this._scheduleStats();
    }, this._statsEvery);
  }

  /** @param {Link} link */
  async _collectStats(link) {
    const found = await readPath(link);
    const view = this.peers.get(link.peerId);
    if (!found || !view || !this._current(link)) return;
    link.statsPath = found.path;
    if (link.open && found.path === "turn") this._upgradeLater(link);
    else if (link.open) this._upgrades.reached(link.peerId);
    const rtt = found.rttMs ?? view.rttMs;
    const path = link.open ? link.statsPath : view.path;
    if (view.rttMs !== rtt || view.path !== path) {
      Object.assign(view, { rttMs: rtt, path });
      this._changed();
    }
  }

  /** Try for a better path later (mesh-upgrade.js): a link on TURN, or one that gave up. @param {Link} link */
  _upgradeLater(link) {
    if (link.polite || !this._current(link)) return; // the impolite side drives
    this._upgrades.schedule(link.peerId, () => this._tryUpgrade(link.peerId));
  }

  /** @param {string} peerId */
  _tryUpgrade(peerId) {
    const link = this._links.get(peerId);
    if (this._closed || !link || !this._chosen.has(peerId)) return;
    if (link.open) {
      if (link.statsPath !== "turn") return;
      debug("mesh", "restarting ICE for a direct path with", peerId);
      link.pc.restartIce(); // the relayed pair carries on until ICE has chosen anew
      return; // the next stats tell: still TURN → another try, after a longer pause
    }
    const closed = link.channel?.readyState === "closed"; // no restart can reopen it
    if (link.restartTimer !== null && !closed) return this._upgradeLater(link); // its own restarts go on
    debug("mesh", "starting over with", peerId);
    this._replaceLink(peerId);
  }

  /**
   * Signals to the link's peer, while the link is current.
   * @param {Link} link
   * @returns {(kind: SignalKind, data: unknown) => void}
   */
  _signalFor(link) {
    return (kind, data) => {
      if (!this._current(link)) return;
      if (!this._sendSignal(link.peerId, kind, data)) debug("mesh", "signal not sent (offline)", kind);
    };
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

  /**
   * Close every link. notify: say bye to each peer (false when the signaling connection
   * that knew these peer ids is gone anyway).
   * @param {{notify?: boolean}} [options]
   */
  close({ notify = true } = {}) {
    if (this._closed) return;
    this._closed = true;
    this._clock.clearTimeout(this._statsTimer);
    this._rejoin.clear();
    this._upgrades.clear();
    for (const id of [...this._links.keys()]) this._closeLink(id, notify ? "leave" : undefined);
    this._changed();
  }
}

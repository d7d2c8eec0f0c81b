// Direct peer-to-peer links: one RTCPeerConnection with one "chat" data channel per peer.
//
// The parts: who links with whom and the per-peer view (mesh-peers.js), one link and its
// connection (mesh-link.js), perfect negotiation (mesh-negotiation.js), which path a
// link takes (mesh-path.js), when a link starts over (mesh-restart.js, which also lists
// the `bye` reasons), and links kept across a new server connection (mesh-rejoin.js).
//
// A new server connection that keeps my peer id (resume) keeps the mesh: links whose
// channel is open go on, with no new offer. One with a new peer id starts a new mesh
// (chat-peers.js).
//
// File transfers add their own channels on an open link (openDataChannel, label "file:<id>");
// the peer's side arrives as a "datachannel" event. Other labels are refused.

import { debug } from "./debug.js";
import { EXTRA_PREFIX } from "./mesh-link.js";
import { MeshLinks } from "./mesh-links.js";
import { applySignal } from "./mesh-negotiation.js";
import { chooseDirectPeers, newView, PROBLEMS } from "./mesh-peers.js";
import { shouldReplaceOnRequest } from "./mesh-restart.js";

export { chooseDirectPeers, PROBLEMS };

/** @typedef {import("./protocol.js").PeerInfo} PeerInfo */
/** @typedef {import("./protocol.js").PeerMessage} PeerMessage */
/** @typedef {import("./protocol.js").SignalKind} SignalKind */
/** @typedef {import("./protocol.js").IceServerInfo} IceServerInfo */
/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {import("./mesh-peers.js").Path} Path */
/** @typedef {import("./mesh-peers.js").PeerView} PeerView */

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
 *   rejoinWithinMs?: number,
 *   upgradeFirstMs?: number,
 *   upgradeMaxMs?: number,
 *   maxIceRestarts?: number,
 * }} MeshOptions
 *   rejoinWithinMs: how long a link with an open channel waits for its peer to be back
 *   on the server after a resume (mesh-rejoin.js).
 *   connectTimeoutMs: how long a link may take to open its channel before chat and files
 *   use the server (the welcome's mesh_connect_timeout; default 15 s).
 *   upgradeFirstMs, upgradeMaxMs: the first and the longest pause before trying for a
 *   better path (mesh-upgrade.js). maxIceRestarts: ICE restarts of a failed link before
 *   it gives up (localStorage "peerlaneIceRestarts" in tests).
 */

const MAX_BUFFERED = 4 * 1024 * 1024; // skip a channel this far behind rather than queue without bound

export class Mesh extends MeshLinks {
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
      link.track(channel);
      return channel;
    } catch (err) {
      debug("mesh", "createDataChannel failed", peerId, err);
      return null;
    }
  }

  /** Replace the peer list (from welcome). @param {PeerInfo[]} peers */
  setPeers(peers) {
    const ids = new Set(peers.map((p) => p.peer_id));
    for (const id of [...this.peers.keys()]) if (!ids.has(id)) this._forget(id);
    for (const p of peers) this._remember(p);
    this._recompute();
  }

  /**
   * A new server connection welcomed me with my peer id unchanged: take its peer list,
   * keeping the links that work (mesh-rejoin.js).
   * @param {{peers: PeerInfo[], iceServers?: IceServerInfo[], connectTimeoutMs?: number}} options
   */
  resume({ peers, iceServers, connectTimeoutMs }) {
    if (iceServers) this._iceServers = iceServers; // for links made from now on
    if (connectTimeoutMs !== undefined) this._connectWithin = connectTimeoutMs; // for timers armed from now on
    const ids = new Set(peers.map((p) => p.peer_id));
    for (const id of [...this.peers.keys()]) {
      if (ids.has(id)) this._rejoin.end(id);
      else if (this.isOpen(id)) this._rejoin.wait(id);
      else this._forget(id);
    }
    for (const p of peers) this._remember(p);
    this._recompute();
  }

  /** A peer joined (presence). @param {PeerInfo} peer */
  addPeer(peer) {
    this._rejoin.end(peer.peer_id);
    this._remember(peer);
    this._recompute();
  }

  /** @param {PeerInfo} peer */
  _remember(peer) {
    if (peer.peer_id === this.selfPeerId) return;
    const view = this.peers.get(peer.peer_id);
    if (view) Object.assign(view, { participant_id: peer.participant_id, name: peer.name, role: peer.role });
    else this.peers.set(peer.peer_id, newView(peer));
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
      .then(async () => {
        await applySignal(current, kind, data, this._signalFor(current));
        this._update(current);
      })
      .catch((err) => {
        debug("mesh", "signal failed", sender, kind, err);
      });
  }

  /**
   * @param {string} sender
   * @param {unknown} data
   */
  _bye(sender, data) {
    const reason = typeof data === "object" && data !== null ? /** @type {{reason?: unknown}} */ (data).reason : null;
    const wanted = this._chosen.has(sender);
    if (reason === "restart" && wanted && !this._isPolite(sender)) {
      // else our new offer is already on its way
      if (shouldReplaceOnRequest(this._links.get(sender), this._clock.now())) this._replaceLink(sender);
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

  /**
   * The stats of the direct link to a peer (telemetry.js), or null without one.
   * @param {string} peerId
   * @returns {Promise<RTCStatsReport | null>}
   */
  async linkStats(peerId) {
    const link = this._links.get(peerId);
    try {
      return link ? await link.pc.getStats() : null;
    } catch {
      return null;
    }
  }

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
}

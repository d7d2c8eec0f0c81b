// One direct link: an RTCPeerConnection, its "chat" data channel and its negotiation
// state (mesh.js owns the links; mesh-negotiation.js drives the offers and answers).

/** @typedef {import("./protocol.js").IceServerInfo} IceServerInfo */

/** Labels of the extra channels peers may open (file transfers). */
export const EXTRA_PREFIX = "file:";

export class Link {
  /**
   * @param {string} peerId
   * @param {boolean} polite
   * @param {RTCPeerConnection} pc
   * @param {number} now  clock ms
   * @param {number} serial  the mesh's count of connections made, this one's number
   */
  constructor(peerId, polite, pc, now, serial) {
    this.peerId = peerId;
    this.createdAt = now;
    this.serial = serial;
    this.polite = polite;
    this.pc = pc;
    /** @type {RTCDataChannel | null} */
    this.channel = null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.negotiated = false; // a remote description was applied at least once
    this.everOpen = false; // the chat channel opened at least once
    this.restarts = 0;
    /** Extra data channels (file transfers) on this connection. @type {Set<RTCDataChannel>} */
    this.extraChannels = new Set();
    /** Signals are handled one at a time, in arrival order. @type {Promise<void>} */
    this.queue = Promise.resolve();
    /** @type {unknown} */
    this.connectTimer = null;
    /** @type {unknown} */
    this.restartTimer = null;
    /** @type {"direct" | "turn" | null} from getStats (mesh-path.js) */
    this.statsPath = null;
    this.closed = false;
  }

  get open() {
    return this.channel?.readyState === "open";
  }

  /**
   * Keep an extra channel with its link, so closing the link closes it visibly
   * (RTCPeerConnection.close() does not fire "close" on its channels).
   * @param {RTCDataChannel} channel
   */
  track(channel) {
    this.extraChannels.add(channel);
    channel.addEventListener("close", () => this.extraChannels.delete(channel));
  }

  /** Close the connection and its channels, with no handler left to hear about it. */
  shutDown() {
    this.closed = true;
    const { pc, channel } = this;
    pc.onnegotiationneeded = pc.onicecandidate = pc.oniceconnectionstatechange = null;
    pc.onsignalingstatechange = pc.onconnectionstatechange = pc.ondatachannel = null;
    if (channel) channel.onopen = channel.onclose = channel.onmessage = null;
    try {
      channel?.close();
      pc.close();
    } catch {
      // already closed
    }
    for (const extra of this.extraChannels) {
      try {
        extra.close();
      } catch {
        // already closed
      }
      extra.dispatchEvent(new Event("close")); // pc.close() closes it without an event
    }
    this.extraChannels.clear();
  }
}

/**
 * A new RTCPeerConnection, or null when the browser has none (or refuses the config).
 * @param {typeof RTCPeerConnection | null} RTC
 * @param {IceServerInfo[]} iceServers
 * @returns {RTCPeerConnection | null}
 */
export function newPeerConnection(RTC, iceServers) {
  if (!RTC) return null;
  try {
    return new RTC({ iceServers: iceServers.map(iceServer) });
  } catch {
    return null;
  }
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

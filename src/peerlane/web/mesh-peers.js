// Who the mesh links with, and what the UI shows per peer (mesh.js).
//
// Who connects to whom: sort every peer id in the room (mine included); the first
// mesh_limit + 1 form a full mesh, everyone else talks through the server only. Each side
// applies the same rule to the same list, so a link is wanted by both ends or by neither,
// and nobody has more than mesh_limit direct links.

/** @typedef {import("./protocol.js").PeerInfo} PeerInfo */
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

export const PROBLEMS = Object.freeze({
  iceFailed:
    "No direct route between you (a firewall or strict NAT is in the way). Messages go through the server. An operator can add a TURN server to fix this.",
  timeout:
    "Could not connect directly within 15 seconds (a firewall or strict NAT may be in the way). Messages go through the server. An operator can add a TURN server to fix this.",
  // TURN is configured, so advising an operator to add one would be wrong: the relay
  // itself could not be reached (blocked by a firewall, or down).
  relayUnreachable:
    "No direct route between you, and the relay server (TURN) could not be reached. Chat and files go through the server.",
  relayTimeout:
    "Could not connect directly within 15 seconds, and the relay server (TURN) could not be reached. Chat and files go through the server.",
  channelClosed: "Direct connection lost; reconnecting…",
  overLimit:
    "Not connected directly: the room has more people than the direct-connection limit. Messages go through the server.",
  disabled: "Direct connections are turned off on this server. Messages go through the server.",
  unsupported: "This browser cannot make direct connections. Messages go through the server.",
});

/** Problems of the network (no direct route, no relay): the panel links to /diagnostics. */
/** @type {readonly string[]} */
export const NETWORK_PROBLEMS = [
  PROBLEMS.iceFailed,
  PROBLEMS.timeout,
  PROBLEMS.relayUnreachable,
  PROBLEMS.relayTimeout,
];

/** Problems that stay on display while a new connection is tried. */
/** @type {readonly string[]} */
export const RETRYING = [...NETWORK_PROBLEMS, PROBLEMS.channelClosed];

/**
 * Why no direct link formed, in words that fit the ICE configuration: with a TURN server
 * configured the relay was not reachable either; without one, an operator can add one.
 * @param {"failed" | "timeout"} how  ICE failed, or nothing connected in time
 * @param {readonly {urls: string[]}[]} iceServers
 * @returns {string}
 */
export function connectProblem(how, iceServers) {
  const hasTurn = iceServers.some((s) => s.urls.some((u) => /^turns?:/i.test(u)));
  if (how === "failed") return hasTurn ? PROBLEMS.relayUnreachable : PROBLEMS.iceFailed;
  return hasTurn ? PROBLEMS.relayTimeout : PROBLEMS.timeout;
}

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

/**
 * @param {PeerInfo} peer
 * @returns {PeerView}
 */
export function newView(peer) {
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

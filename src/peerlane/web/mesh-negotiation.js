// Perfect negotiation (the WebRTC spec's pattern) on one link: the peer with the lower id
// is polite (on an offer collision it rolls back and answers), the other is impolite (it
// ignores the colliding offer). To avoid a collision on every new link, only the impolite
// side makes the first offer; the polite side answers and may renegotiate later (ICE
// restarts). The data channel is pre-negotiated (negotiated: true, id 0) on both sides,
// so there is no ondatachannel race.

import { debug } from "./debug.js";

/** @typedef {import("./mesh-link.js").Link} Link */
/** @typedef {import("./protocol.js").SignalKind} SignalKind */
/** @typedef {(kind: SignalKind, data: unknown) => void} SendSignal */

/**
 * negotiationneeded: make an offer (not the polite side's first one).
 * @param {Link} link
 * @param {SendSignal} signal  to the link's peer, if the link is still current
 */
export async function negotiate(link, signal) {
  if (link.polite && !link.negotiated) return;
  try {
    link.makingOffer = true;
    await link.pc.setLocalDescription();
    signal("offer", link.pc.localDescription?.toJSON());
  } catch (err) {
    debug("mesh", "negotiation failed", link.peerId, err);
  } finally {
    link.makingOffer = false;
  }
}

/**
 * A signal from the link's peer: a candidate, an offer or an answer.
 * @param {Link} link
 * @param {SignalKind} kind
 * @param {unknown} data
 * @param {SendSignal} signal
 */
export async function applySignal(link, kind, data, signal) {
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
    signal("answer", pc.localDescription?.toJSON());
  }
}

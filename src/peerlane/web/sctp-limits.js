// The largest message a peer takes on a data channel. Browsers differ (Chromium 256 KiB,
// Firefox 1 GiB, Safari 64 KiB) and a send() above the peer's limit throws or kills the
// channel, so every frame must fit. The peer says its limit in its SDP
// (a=max-message-size, RFC 8841): absent means 64 KiB, 0 means no limit.
// RTCSctpTransport.maxMessageSize is meant to be that value already combined with our
// own, but it is missing in some browsers and reported from the local side alone in
// others, so both are read and the smaller wins.

/** RFC 8841 §6.1: the limit when the peer's SDP does not say. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024;

const ATTRIBUTE = /^a=max-message-size:(\d+)\s*$/m;

/**
 * The limit the remote SDP announces: its a=max-message-size (0 = none: Infinity), 64 KiB
 * without one, null without an SDP.
 * @param {string | null | undefined} sdp
 * @returns {number | null}
 */
export function remoteMaxMessageSize(sdp) {
  if (typeof sdp !== "string" || sdp === "") return null;
  const found = ATTRIBUTE.exec(sdp);
  if (!found) return DEFAULT_MAX_MESSAGE_SIZE;
  const value = Number(found[1]);
  return value === 0 ? Number.POSITIVE_INFINITY : value;
}

/**
 * The largest message to send on a channel of `pc`: the smaller of what the remote SDP
 * announces and what the SCTP transport reports; null when neither is known yet.
 * @param {{remoteDescription?: {sdp?: string} | null, sctp?: {maxMessageSize?: number} | null}} pc
 * @returns {number | null}
 */
export function maxMessageSizeOf(pc) {
  const known = [remoteMaxMessageSize(pc.remoteDescription?.sdp), pc.sctp?.maxMessageSize].filter(
    (v) => typeof v === "number" && v > 0,
  );
  return known.length ? Math.min(.../** @type {number[]} */ (known)) : null;
}

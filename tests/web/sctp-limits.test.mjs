import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEFAULT_MAX_MESSAGE_SIZE,
  maxMessageSizeOf,
  remoteMaxMessageSize,
} from "../../src/peerlane/web/sctp-limits.js";

// Trimmed from real answers: Chromium's and Firefox's (firefox-esr 153) data-channel sections.
const CHROMIUM =
  "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";
const FIREFOX =
  "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:5000\r\na=max-message-size:1073741823\r\n";
const SILENT = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:5000\r\n";
const NO_LIMIT = "v=0\r\na=max-message-size:0\r\n";

test("remoteMaxMessageSize reads a=max-message-size; 64 KiB without one; 0 is no limit", () => {
  assert.equal(remoteMaxMessageSize(CHROMIUM), 262144);
  assert.equal(remoteMaxMessageSize(FIREFOX), 1073741823);
  assert.equal(remoteMaxMessageSize(SILENT), DEFAULT_MAX_MESSAGE_SIZE);
  assert.equal(DEFAULT_MAX_MESSAGE_SIZE, 65536);
  assert.equal(remoteMaxMessageSize(NO_LIMIT), Number.POSITIVE_INFINITY);
  assert.equal(remoteMaxMessageSize(""), null);
  assert.equal(remoteMaxMessageSize(undefined), null);
  assert.equal(remoteMaxMessageSize("a=max-message-size-ish:5\r\n"), DEFAULT_MAX_MESSAGE_SIZE);
});

test("maxMessageSizeOf: the smaller of the remote SDP and the SCTP transport", () => {
  // A transport that reports only its own side (1 GiB) talking to a 256 KiB peer.
  assert.equal(
    maxMessageSizeOf({ remoteDescription: { sdp: CHROMIUM }, sctp: { maxMessageSize: 1073741823 } }),
    262144,
  );
  // No RTCSctpTransport at all (older browsers): the SDP alone.
  assert.equal(maxMessageSizeOf({ remoteDescription: { sdp: SILENT }, sctp: null }), 65536);
  assert.equal(maxMessageSizeOf({ remoteDescription: { sdp: FIREFOX } }), 1073741823);
  // The transport knows better than "no limit".
  assert.equal(maxMessageSizeOf({ remoteDescription: { sdp: NO_LIMIT }, sctp: { maxMessageSize: 262144 } }), 262144);
  assert.equal(maxMessageSizeOf({ remoteDescription: { sdp: NO_LIMIT } }), Number.POSITIVE_INFINITY);
  // Nothing known yet.
  assert.equal(maxMessageSizeOf({ remoteDescription: null, sctp: null }), null);
  assert.equal(maxMessageSizeOf({ remoteDescription: null, sctp: { maxMessageSize: 262144 } }), 262144);
});

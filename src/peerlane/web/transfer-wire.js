// The per-transfer data channel (docs/file-transfer.md → "Peer-to-peer data channel"):
// label `file:<transfer id>`, ordered and reliable, opened by the receiver.
//
// Binary frames carry file bytes: [u32 block index][u32 offset in block][payload], big
// endian. Text frames are JSON control messages, field `t`:
//   receiver → sender: want {from, hashes}  send blocks from `from` on (and the block
//                                          hashes first when `hashes` is true)
//                      bad {block}          hash mismatch: send that block again
//                      ok {block}           verified (progress for the sender)
//   sender → receiver: hashes {from, hashes}  block hashes from block `from` on, hex, concatenated
//                      end {}               everything asked for has been sent
//                      nofile {}            this tab cannot serve the transfer (yet)
//
// Chunk size and watermarks: measured with bench/datachannel_chunks.py (docs/protocol.md →
// "Browser file transfer"). Frames of 16–256 KiB and high marks of 0.25–8 MiB all ran at
// the same speed within noise (Chromium spends its CPU per SCTP packet, not per message),
// so the choice is the safe one: 64 KiB frames fit every browser's maxMessageSize, and a
// 1 MiB high mark keeps memory and the bytes lost to an interruption small.

import { TRANSFER_FRAMES } from "./protocol.js";

export const LABEL_PREFIX = "file:";
export const HEADER_BYTES = 8;
/** Payload bytes per binary frame (a divisor of the 1 MiB block). */
export const CHUNK_BYTES = 64 * 1024;
/** Stop sending while more than this is queued in the channel… */
export const HIGH_WATER = 1024 * 1024;
/** …and go on once it drains below this (bufferedAmountLowThreshold). */
export const LOW_WATER = 256 * 1024;
/** Block hashes per "hashes" frame: 1000 × 64 hex digits and the JSON around them stay
 * under 64 KiB, the smallest maxMessageSize browsers have. */
export const HASHES_PER_FRAME = 1000;

/** @typedef {{t: "want", from: number, hashes: boolean}} WantFrame */
/** @typedef {{t: "bad", block: number}} BadFrame */
/** @typedef {{t: "ok", block: number}} OkFrame */
/** @typedef {{t: "hashes", from: number, hashes: string}} HashesFrame */
/** @typedef {{t: "end"}} EndFrame */
/** @typedef {{t: "nofile"}} NoFileFrame */
/** @typedef {WantFrame | BadFrame | OkFrame | HashesFrame | EndFrame | NoFileFrame} ControlFrame */
/** @typedef {{block: number, offset: number, bytes: Uint8Array}} DataFrame */

/** @param {string} transferId */
export function labelOf(transferId) {
  return LABEL_PREFIX + transferId;
}

/**
 * The transfer id of a channel label, or null if it is not a transfer channel.
 * @param {string} label
 */
export function transferOfLabel(label) {
  return label.startsWith(LABEL_PREFIX) && label.length > LABEL_PREFIX.length ? label.slice(LABEL_PREFIX.length) : null;
}

/**
 * @param {number} block
 * @param {number} offset
 * @param {Uint8Array} payload
 * @returns {ArrayBuffer}
 */
export function encodeData(block, offset, payload) {
  const buffer = new ArrayBuffer(HEADER_BYTES + payload.length);
  const view = new DataView(buffer);
  view.setUint32(0, block);
  view.setUint32(4, offset);
  new Uint8Array(buffer, HEADER_BYTES).set(payload);
  return buffer;
}

/**
 * @param {ArrayBuffer} buffer
 * @returns {DataFrame | null}
 */
export function decodeData(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < HEADER_BYTES) return null;
  const view = new DataView(buffer);
  return { block: view.getUint32(0), offset: view.getUint32(4), bytes: new Uint8Array(buffer, HEADER_BYTES) };
}

/** @param {ControlFrame} frame */
export function encodeControl(frame) {
  return JSON.stringify(frame);
}

const NUMERIC = /** @type {const} */ ({ want: "from", bad: "block", ok: "block", hashes: "from" });

/**
 * A control frame with the fields its type needs, or null.
 * @param {unknown} text
 * @returns {ControlFrame | null}
 */
export function decodeControl(text) {
  if (typeof text !== "string" || text.length > 4 * 1024 * 1024) return null;
  let obj;
  try {
    obj = JSON.parse(text);
  } catch {
    return null;
  }
  if (obj === null || typeof obj !== "object" || !TRANSFER_FRAMES.includes(obj.t)) return null;
  if (obj.t === "end" || obj.t === "nofile") return obj;
  const field = NUMERIC[/** @type {keyof typeof NUMERIC} */ (obj.t)];
  if (!field || !Number.isInteger(obj[field]) || obj[field] < 0) return null;
  if (obj.t === "hashes" && (typeof obj.hashes !== "string" || !/^(?:[0-9a-f]{64})*$/.test(obj.hashes))) return null;
  if (obj.t === "want") obj.hashes = obj.hashes === true;
  return obj;
}

/**
 * Split a hex string of concatenated hashes into 64-digit pieces.
 * @param {string} joined
 * @returns {string[]}
 */
export function splitHashes(joined) {
  const out = [];
  for (let i = 0; i < joined.length; i += 64) out.push(joined.slice(i, i + 64));
  return out;
}

/**
 * The part of RTCDataChannel the transfer code uses (tests pass a fake).
 * @typedef {EventTarget & {
 *   label: string, readyState: RTCDataChannelState, bufferedAmount: number,
 *   bufferedAmountLowThreshold: number, binaryType: BinaryType,
 *   send(data: string | ArrayBuffer): void, close(): void,
 * }} ChannelLike
 */

/**
 * Sends on a channel without unbounded buffering: above HIGH_WATER queued bytes, waits for
 * "bufferedamountlow" (the channel's threshold is LOW_WATER) before the next frame.
 */
export class ChannelSender {
  /**
   * @param {ChannelLike} channel
   * @param {{high?: number, low?: number}} [marks]
   */
  constructor(channel, marks = {}) {
    this.channel = channel;
    this.high = marks.high ?? HIGH_WATER;
    channel.bufferedAmountLowThreshold = marks.low ?? LOW_WATER;
    /** Payload bytes handed to the channel. */
    this.bytes = 0;
  }

  get open() {
    return this.channel.readyState === "open";
  }

  /**
   * Send one frame, waiting first while the channel is too far behind.
   * @param {string | ArrayBuffer} data
   * @returns {Promise<boolean>}  false when the channel closed
   */
  async send(data) {
    if (this.channel.bufferedAmount > this.high && !(await this.drained())) return false;
    if (!this.open) return false;
    try {
      this.channel.send(data);
    } catch {
      return false; // closed under us
    }
    return true;
  }

  /** Resolves true once the queue drains below the low mark, false if the channel closes. */
  drained() {
    return new Promise((resolve) => {
      const done = (/** @type {boolean} */ ok) => {
        this.channel.removeEventListener("bufferedamountlow", onLow);
        this.channel.removeEventListener("close", onClose);
        resolve(ok);
      };
      const onLow = () => done(true);
      const onClose = () => done(false);
      this.channel.addEventListener("bufferedamountlow", onLow);
      this.channel.addEventListener("close", onClose);
      if (!this.open) done(false);
    });
  }
}

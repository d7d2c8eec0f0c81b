// The runtime side of a transfer (not persisted): the File, channels, sessions, timers,
// the download and upload in progress, counters for stats() and the view's note.

import { BlockReceiver } from "./transfer-receive.js";
import { SendSession } from "./transfer-send.js";

/** @typedef {import("./opfs.js").PartialWriter} PartialWriter */
/** @typedef {import("./transfer-wire.js").ChannelLike} ChannelLike */
/** @typedef {import("./transfer-records.js").TransferPath} TransferPath */
/** @typedef {import("./transfer-records.js").TransferNote} TransferNote */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */

export const SPEED_WINDOW_MS = 3_000;

export class Live {
  constructor() {
    /** The sender's file. @type {File | null} */
    this.file = null;
    /** @type {AbortController | null} */
    this.hashing = null;
    /** Sender: one session per receiving participant. @type {Map<string, {session: SendSession, peerId: string}>} */
    this.sessions = new Map();
    /** Sender: fallback timers per receiving participant. @type {Map<string, unknown>} */
    this.fallbackTimers = new Map();
    /** @type {AbortController | null} */
    this.upload = null;
    this.uploadOffset = 0;
    /** Bytes the upload has put on the wire so far (tus reports a running total). */
    this.uploadSent = 0;
    /** Root mismatches after a download without the hash list (retried once). */
    this.rootRetries = 0;
    /** Receiver. @type {BlockReceiver | null} */
    this.receiver = null;
    /** @type {PartialWriter | null} */
    this.writer = null;
    /** @type {ChannelLike | null} */
    this.channel = null;
    /** @type {string | null} */
    this.channelPeer = null;
    /** Peer ids that turned out not to serve this transfer (another tab of the sender),
     * until when (ms) they are not asked again. @type {Map<string, number>} */
    this.wrongPeers = new Map();
    /** @type {AbortController | null} */
    this.download = null;
    /** A direct link to the sender opened while downloading: the peer whose data channel
     * takes over at the next block boundary (transfer-download.js). @type {string | null} */
    this.movingTo = null;
    /** The sender's linked peers when the download began: not moved to. @type {Set<string>} */
    this.linkedAtDownload = new Set();
    /** The download's run, settled once it stopped feeding the receiver. @type {Promise<void> | null} */
    this.downloading = null;
    /** The sender's tab answered "nofile": no new channel before this time (ms). */
    this.noFileUntil = 0;
    /** ... and until it offers again (or bytes come), the wait is for a person, not a stall. */
    this.noFile = false;
    /** Frames are processed one after another, in arrival order. @type {Promise<void>} */
    this.queue = Promise.resolve();
    /** @type {unknown} */
    this.retryTimer = null;
    /** When the last checkpoint started (ms). */
    this.checkpointAt = -Infinity;
    /** A checkpoint due later (CHECKPOINT_MS after the last). @type {unknown} */
    this.checkpointTimer = null;
    /** The checkpoint being written, if any. @type {Promise<void> | null} */
    this.checkpointing = null;
    this.checkpointAgain = false;
    this.bytesSent = 0;
    this.bytesReceived = 0;
    this.blocksBad = 0;
    /** @type {TransferPath | null} */
    this.path = null;
    /** What the view says about the state, as a code (ui/transfer-text.js words it). @type {TransferNote | null} */
    this.note = null;
    /** Speed samples: [ms, bytes]. @type {[number, number][]} */
    this.samples = [];
    /** Stall watchdog: when bytes last moved, or the transfer began to be watched (ms). @type {number | null} */
    this.progressAt = null;
    /** No progress for stallMs: the view says "stalled" and offers retry(). */
    this.stalled = false;
  }

  /**
   * The peer whose data channel carries the bytes now (for a sender, its newest
   * session's), or null when they go through the server or nothing carries them yet.
   * @returns {string | null}
   */
  carrierPeer() {
    if (this.path !== "direct" && this.path !== "turn") return null;
    if (this.channel?.readyState === "open" && this.channelPeer) return this.channelPeer;
    return [...this.sessions.values()].at(-1)?.peerId ?? null;
  }

  /**
   * Stop everything under way (the page is leaving): work aborted, timers cleared,
   * channels and the partial file closed.
   * @param {{clearTimeout(timer: unknown): void}} clock
   */
  close(clock) {
    this.hashing?.abort();
    this.upload?.abort();
    this.download?.abort();
    for (const { session } of this.sessions.values()) session.close();
    for (const timer of this.fallbackTimers.values()) clock.clearTimeout(timer);
    clock.clearTimeout(this.retryTimer);
    clock.clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    this.channel?.close();
    void this.writer?.close().catch(() => {});
  }
}

const EMIT_EVERY_MS = 150;

/** "change" events: the first of a burst at once (next microtask), then at most one per EMIT_EVERY_MS. */
export class ChangeBurst {
  /**
   * @param {import("./hlc.js").Clock} clock
   * @param {() => void} emit
   */
  constructor(clock, emit) {
    this.clock = clock;
    this.emit = emit;
    this.queued = false;
    /** @type {unknown} */
    this.timer = null;
    this.dirty = false;
    this.closed = false;
  }

  changed() {
    if (this.closed) return;
    if (this.timer !== null) {
      this.dirty = true;
      return;
    }
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.emit();
      this.timer = this.clock.setTimeout(() => {
        this.timer = null;
        if (this.dirty) {
          this.dirty = false;
          this.changed();
        }
      }, EMIT_EVERY_MS);
    });
  }

  close() {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
  }
}

/**
 * Bytes per second over the recent samples.
 * @param {[number, number][]} samples
 * @param {number} now
 */
export function speedOf(samples, now) {
  if (samples.length < 2) return 0;
  const [t0, b0] = samples[0];
  const [t1, b1] = /** @type {[number, number]} */ (samples.at(-1));
  if (now - t1 > SPEED_WINDOW_MS || t1 <= t0) return 0; // stalled
  return Math.round(((b1 - b0) * 1000) / Math.max(t1 - t0, 250));
}

/**
 * @param {TransferNote | null} a
 * @param {TransferNote | null} b
 */
export function sameNote(a, b) {
  if (a === b) return true;
  if (!a || !b) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** The browser's own words for what went wrong (an error's `detail`). @param {unknown} err */
export function detailOf(err) {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A transfer under way on a data channel shows the path its bytes take NOW: ICE may move
 * the link from a direct pair to TURN (a broken path, restarted) or back (the rules
 * lifted) in mid-transfer; the path read when the channel opened would then be wrong.
 * A finished transfer keeps the path it ended on.
 * @param {Map<string, TransferRecord>} records
 * @param {Map<string, Live>} lives
 * @param {Map<string, {path: string}>} peers  the room's per-peer views
 * @returns {boolean} whether any transfer's path changed
 */
export function followPaths(records, lives, peers) {
  let moved = false;
  for (const [id, live] of lives) {
    const state = records.get(id)?.state;
    const peerId = state === "sending" || state === "receiving" ? live.carrierPeer() : null;
    const now = peerId ? peers.get(peerId)?.path : null;
    if ((now === "direct" || now === "turn") && now !== live.path) {
      live.path = now;
      moved = true;
    }
  }
  return moved;
}

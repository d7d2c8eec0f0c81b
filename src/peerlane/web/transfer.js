// Transfers: the browser's file-transfer engine (docs/file-transfer.md is the contract).
//
//   const t = room.transfers;                      // ChatRoom makes one per room
//   t.send(files, to)        → string[] ids        // to: participant id, or null = everyone
//   t.accept(id) / t.decline(id) / t.cancel(id)
//   t.save(id)               → Promise<void>       // incoming "done" only
//   t.pickAgain(id, file)    → Promise<void>       // outgoing "needs-file"; rejects on another file
//   t.dismiss(id)                                  // forget a finished transfer
//   t.retry(id)                                    // a "stalled" transfer: start it again
//   t.list() → TransferView[]   t.get(id)   t.stats()   t.getFile(id) → Promise<File | null>
//   event "change"
//
// How a file travels:
//   1. The sender hashes the file (integrity.js) and offers it with a chat message of kind
//      "file" ({op: "offer", …}): persisted by the server, so it reaches everyone.
//   2. A receiver accepts ({op: "accept", have}) and opens a data channel `file:<id>` on
//      its direct link to the sender (transfer-wire.js); the sender streams blocks
//      (transfer-send.js), the receiver verifies each and writes it to OPFS
//      (transfer-receive.js, opfs.js).
//   3. No channel from that receiver within p2p_timeout (or a broken one that does not
//      come back): the sender uploads with tus (tus.js) and says {op: "uploaded",
//      file_id}; the receiver downloads with Range from its first unverified block.
//   4. The receiver checks the root, says {op: "done"}, and only then may save the file.
// Both ends keep a record per transfer in IndexedDB, so a reload resumes: the receiver
// from its verified blocks (accept {have}), the sender once the person picks the same
// file again (state "needs-file": a File object does not survive a reload).

import { debug } from "./debug.js";
import { systemClock } from "./hlc.js";
import { BLOCK_SIZE, blockCount, blockLength, hashFile, isRoot } from "./integrity.js";
import { defaultPartialStore, indexedDbManifests, offerDownload } from "./opfs.js";
import { FILE_OPS } from "./protocol.js";
import { BlockReceiver } from "./transfer-receive.js";
import { SendSession } from "./transfer-send.js";
import {
  CHUNK_BYTES, HEADER_BYTES, decodeControl, decodeData, encodeControl, labelOf, splitHashes, transferOfLabel,
} from "./transfer-wire.js";
import { TusError, terminate, upload } from "./tus.js";

/** @typedef {import("./opfs.js").PartialStore} PartialStore */
/** @typedef {import("./opfs.js").PartialWriter} PartialWriter */
/** @typedef {import("./opfs.js").ManifestStore} ManifestStore */
/** @typedef {import("./opfs.js").Manifest} Manifest */
/** @typedef {import("./transfer-wire.js").ChannelLike} ChannelLike */
/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {import("./mesh.js").PeerView} PeerView */

/**
 * @typedef {"offered" | "waiting" | "sending" | "receiving" | "verifying" | "done" | "declined"
 *   | "cancelled" | "failed" | "needs-file" | "stalled"} TransferState
 *   "stalled" is never stored: it is how the view shows a waiting/sending/receiving
 *   transfer that made no progress for stallMs (see _watchdog).
 * @typedef {"direct" | "turn" | "server"} TransferPath
 * @typedef {"waiting" | "sending" | "done" | "declined" | "cancelled"} ReceiverState
 * @typedef {{participant: string, name: string, state: ReceiverState, bytesDone: number, path: TransferPath | null}} ReceiverView
 */

/**
 * What the UI reads (see docs/file-transfer.md → "Engine API").
 * @typedef {{
 *   id: string, direction: "in" | "out", state: TransferState, path: TransferPath | null,
 *   name: string, size: number, type: string, sender: string, senderName: string,
 *   to: string | null, toName: string | null, root: string | null, bytesDone: number,
 *   speedBps: number, etaSeconds: number | null, error: string | null, note: string | null,
 *   receivers: ReceiverView[], createdAt: number,
 * }} TransferView
 */

/**
 * A transfer as kept in IndexedDB (both directions; the fields of the other are unused).
 * @typedef {{
 *   id: string, room: string, direction: "in" | "out", state: TransferState,
 *   name: string, size: number, type: string, sender: string, senderName: string,
 *   to: string | null, toName: string | null, root: string | null, blocks: number,
 *   hashes: string[] | null, createdAt: number, error: string | null, dismissed?: boolean,
 *   have: number, stored: string[], accepted: boolean, fileId: string | null, offerPeer: string | null,
 *   uploadUrl: string | null,
 *   receivers: Record<string, {name: string, state: ReceiverState, have: number}>,
 * }} TransferRecord
 *   have/stored: receiver — verified blocks 0 … have-1 are in OPFS, with these hashes.
 *   fileId: the server's copy (fallback), once uploaded. uploadUrl: the sender's tus URL.
 *   hashes and stored (up to 4096 × 64 characters for a 4 GiB file) are kept apart from
 *   the rest (records "<id>/hashes", "<id>/stored"), so saving the small record (a
 *   checkpoint, at most every second while blocks come) stays cheap.
 */

/**
 * What the engine needs of a ChatRoom (a fake in tests).
 * @typedef {EventTarget & {
 *   id: string,
 *   me: {participant_id: string, peer_id: string | null, name: string} | null,
 *   roomInfo: Record<string, any> | null,
 *   peers: Map<string, PeerView>,
 *   sendFileMessage(body: Record<string, unknown>): unknown,
 *   openDataChannel(peerId: string, label: string): ChannelLike | null,
 * }} RoomLike
 *   events used: "file" (detail: a chat message of kind "file"), "datachannel" (detail:
 *   {peerId, channel}), "peers".
 */

/**
 * @typedef {{
 *   manifests?: ManifestStore,
 *   partials?: PartialStore,
 *   clock?: Clock,
 *   newId?: () => string,
 *   fetch?: typeof fetch,
 *   p2pTimeoutMs?: number,
 *   upload?: typeof upload,
 *   terminate?: typeof terminate,
 *   offerDownload?: (file: File, name: string) => void,
 *   retryMs?: number,
 *   stallMs?: number,
 * }} TransfersOptions
 */

/** Runtime state of a transfer (not persisted). */
class Live {
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
    /** @type {string | null} */
    this.note = null;
    /** Speed samples: [ms, bytes]. @type {[number, number][]} */
    this.samples = [];
    /** Stall watchdog: when bytes last moved, or the transfer began to be watched (ms). @type {number | null} */
    this.progressAt = null;
    /** No progress for stallMs: the view says "stalled" and offers retry(). */
    this.stalled = false;
  }
}

export const DEFAULT_P2P_TIMEOUT_MS = 10_000;
/** No bytes for this long on a transfer that should be moving: "stalled", with a Retry. */
export const DEFAULT_STALL_MS = 30_000;
const SPEED_WINDOW_MS = 3_000;
const CHECKPOINT_MS = 1_000;
const MAX_BAD_PER_BLOCK = 3;
const NO_FILE_RETRY_MS = 30_000;
const WRONG_PEER_MS = 30_000;
const EMIT_EVERY_MS = 150;
const FINAL = /** @type {readonly TransferState[]} */ (["done", "declined", "cancelled", "failed"]);
/** Final and never served again ("done" still serves a late receiver of an offer to everyone). */
const OVER = /** @type {readonly TransferState[]} */ (["declined", "cancelled", "failed"]);
const NOT_SAME_FILE = "This is not the same file: its content differs from what was offered. Pick the original file.";

export class Transfers extends EventTarget {
  /**
   * @param {RoomLike} room
   * @param {TransfersOptions} [options]
   */
  constructor(room, options = {}) {
    super();
    this.room = room;
    this._manifests = options.manifests ?? indexedDbManifests();
    this._partials = options.partials ?? defaultPartialStore();
    this._clock = options.clock ?? systemClock;
    this._newId = options.newId ?? newTransferId;
    this._fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
    this._p2pTimeoutMs = options.p2pTimeoutMs ?? null;
    this._upload = options.upload ?? upload;
    this._terminate = options.terminate ?? terminate;
    this._offerDownload = options.offerDownload ?? offerDownload;
    this._retryMs = options.retryMs ?? 1_000;
    this._stallMs = options.stallMs ?? localMs("peerlaneStallMs") ?? DEFAULT_STALL_MS;
    /** The stall watchdog's timer, armed while any transfer is watched. @type {unknown} */
    this._watchdogTimer = null;
    /** @type {Map<string, TransferRecord>} */
    this._records = new Map();
    /** @type {Map<string, Live>} */
    this._live = new Map();
    /** participant id → name, learned from messages and peers. @type {Map<string, string>} */
    this._names = new Map();
    /** Hashing runs one file at a time. @type {Promise<void>} */
    this._hashQueue = Promise.resolve();
    this._emit = { queued: false, timer: /** @type {unknown} */ (null), dirty: false };
    this._closed = false;
    room.addEventListener("file", (ev) => this._closed || this._onFileMessage(/** @type {CustomEvent} */ (ev).detail));
    room.addEventListener("datachannel", (ev) => this._closed || this._onDataChannel(/** @type {CustomEvent} */ (ev).detail));
    room.addEventListener("peers", () => this._closed || this._onPeers());
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /** Load this room's transfers (ChatRoom calls it once `room.me` is known). */
  async start() {
    /** @type {TransferRecord[]} */
    let saved = [];
    try {
      saved = /** @type {TransferRecord[]} */ (/** @type {unknown} */ (await this._manifests.list(this.room.id)));
    } catch (err) {
      debug("transfer", "manifests unreadable", err);
    }
    for (const record of saved) {
      if (this._records.has(record.id)) continue;
      Object.assign(record, { hashes: null, stored: [] });
      // Hash lists only where they may still be needed (a finished offer to everyone
      // may still be accepted by someone).
      const open = !FINAL.includes(record.state) || (record.direction === "out" && record.state === "done");
      if (open && !record.dismissed) await this._loadHashes(record);
      this._records.set(record.id, record);
      this._live.set(record.id, new Live());
      this._names.set(record.sender, record.senderName);
      if (!record.dismissed) this._restore(record);
    }
    this._changed();
  }

  /** Stop everything (leaving the page); records stay for the next visit. */
  close() {
    this._closed = true;
    for (const live of this._live.values()) {
      live.hashing?.abort();
      live.upload?.abort();
      live.download?.abort();
      for (const { session } of live.sessions.values()) session.close();
      for (const timer of live.fallbackTimers.values()) this._clock.clearTimeout(timer);
      this._clock.clearTimeout(live.retryTimer);
      this._clock.clearTimeout(live.checkpointTimer);
      live.checkpointTimer = null;
      live.channel?.close();
      void live.writer?.close().catch(() => {});
    }
    this._clock.clearTimeout(this._emit.timer);
    this._clock.clearTimeout(this._watchdogTimer);
  }

  /** @param {TransferRecord} record */
  async _loadHashes(record) {
    try {
      const hashes = await this._manifests.get(`${record.id}/hashes`);
      const stored = await this._manifests.get(`${record.id}/stored`);
      record.hashes = Array.isArray(hashes?.hashes) ? hashes.hashes : null;
      record.stored = Array.isArray(stored?.stored) ? stored.stored : [];
    } catch (err) {
      debug("transfer", "hashes unreadable", record.id, err);
      Object.assign(record, { hashes: null, stored: [], have: 0 });
    }
  }

  /** @param {TransferRecord} record */
  _restore(record) {
    if (FINAL.includes(record.state) || record.state === "offered") return;
    if (record.direction === "out") {
      // The File is gone with the page; the server copy (if any) still serves receivers.
      if (!record.fileId) record.state = "needs-file";
      return;
    }
    if (!record.accepted) return;
    record.state = "waiting";
    void this._resumeIncoming(record);
  }

  /** @param {TransferRecord} record */
  async _resumeIncoming(record) {
    try {
      await this._openReceiver(record);
    } catch (err) {
      return this._fail(record, `This browser cannot store the file: ${errorText(err)}`);
    }
    this._control(record, { op: "accept", have: record.have });
    this._pursue(record.id);
  }

  // ---- what the UI reads --------------------------------------------------------------

  /** @returns {TransferView[]} newest first */
  list() {
    return [...this._records.values()]
      .filter((r) => !r.dismissed)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((r) => this._view(r));
  }

  /** @param {string} id @returns {TransferView | undefined} */
  get(id) {
    const record = this._records.get(id);
    return record && !record.dismissed ? this._view(record) : undefined;
  }

  /** Wire bytes per transfer (data-channel payload, tus bodies, download bodies). */
  stats() {
    /** @type {Record<string, {bytesSent: number, bytesReceived: number, path: TransferPath | null, blocksVerified: number, blocksBad: number}>} */
    const out = {};
    for (const [id, live] of this._live) {
      const record = /** @type {TransferRecord} */ (this._records.get(id));
      const blocksVerified = record.direction === "in" ? live.receiver?.verifiedCount ?? record.have : 0;
      out[id] = { bytesSent: live.bytesSent, bytesReceived: live.bytesReceived, path: live.path, blocksVerified, blocksBad: live.blocksBad };
    }
    return out;
  }

  /**
   * @param {TransferRecord} r
   * @returns {TransferView}
   */
  _view(r) {
    const live = this._liveOf(r.id);
    const stalled = live.stalled && this._watched(r, live);
    const bytesDone = this._bytesDone(r, live);
    const speedBps = r.state === "sending" || r.state === "receiving" ? speedOf(live.samples, this._clock.now()) : 0;
    const left = r.size - bytesDone;
    return {
      id: r.id, direction: r.direction, state: stalled ? "stalled" : r.state, path: live.path, name: r.name, size: r.size, type: r.type,
      sender: r.sender, senderName: r.senderName, to: r.to, toName: r.toName, root: r.root, bytesDone,
      speedBps, etaSeconds: speedBps > 0 ? Math.ceil(left / speedBps) : left === 0 ? 0 : null,
      error: r.error,
      note: stalled ? `No progress for ${Math.round(this._stallMs / 1000)} s` : FINAL.includes(r.state) && r.state !== "failed" ? null : live.note,
      receivers: Object.entries(r.receivers).map(([participant, x]) => ({
        participant, name: x.name, state: x.state,
        bytesDone: Math.min(r.size, x.have * BLOCK_SIZE), path: live.sessions.has(participant) ? live.path : r.fileId ? "server" : null,
      })),
      createdAt: r.createdAt,
    };
  }

  /**
   * @param {TransferRecord} r
   * @param {Live} live
   */
  _bytesDone(r, live) {
    if (r.state === "done") return r.size;
    if (r.direction === "in") return live.receiver?.bytesVerified ?? Math.min(r.size, r.have * BLOCK_SIZE);
    const verified = Math.max(0, ...Object.values(r.receivers).map((x) => Math.min(r.size, x.have * BLOCK_SIZE)));
    return Math.max(verified, live.uploadOffset);
  }

  // ---- sending ------------------------------------------------------------------------

  /**
   * Offer files to one participant, or to everyone (to = null).
   * @param {File[]} files
   * @param {string | null} [to]
   * @returns {string[]}  the new transfer ids
   */
  send(files, to = null) {
    const me = this._me();
    return [...files].map((file) => {
      const id = this._newId();
      /** @type {TransferRecord} */
      const record = {
        ...blankRecord(id, this.room.id, "out", this._clock.now()),
        state: "waiting", name: displayName(file), size: file.size, type: file.type || "",
        sender: me.participant_id, senderName: me.name, to, toName: to ? this._nameOf(to) : null,
        blocks: blockCount(file.size),
      };
      this._records.set(id, record);
      const live = this._liveOf(id);
      live.file = file;
      live.note = "Preparing…";
      this._save(record);
      this._hashQueue = this._hashQueue.then(() => this._prepare(record));
      this._changed();
      return id;
    });
  }

  /**
   * Hash the file, then offer it.
   * @param {TransferRecord} record
   */
  async _prepare(record) {
    const live = this._liveOf(record.id);
    if (record.state !== "waiting" || !live.file) return;
    const file = live.file;
    live.hashing = new AbortController();
    try {
      const { root, blocks } = await hashFile(file, (done) => this._progressNote(live, "Preparing…", done, file.size), live.hashing.signal);
      Object.assign(record, { root, hashes: blocks });
      this._saveHashes(record);
    } catch (err) {
      if (record.state === "waiting") this._fail(record, `Cannot read the file: ${errorText(err)}`);
      return;
    } finally {
      live.hashing = null;
    }
    if (record.state !== "waiting") return;
    this._offer(record);
    live.note = this._waitingNote(record);
    this._save(record);
    this._changed();
  }

  /**
   * Offer (or offer again: the file is available in this tab from now on).
   * @param {TransferRecord} record
   */
  _offer(record) {
    this._control(record, {
      op: "offer", name: record.name, size: record.size, type: record.type, root: record.root,
      blocks: record.blocks, to: record.to, peer: this.room.me?.peer_id ?? null,
    });
  }

  /**
   * After a reload of the sender's page: the same file again (checked by its root).
   * @param {string} id
   * @param {File} file
   */
  async pickAgain(id, file) {
    const record = this._records.get(id);
    if (!record || record.direction !== "out" || record.state !== "needs-file") return;
    const live = this._liveOf(id);
    live.note = "Checking the file…";
    record.error = null;
    this._changed();
    let hashed;
    try {
      hashed = file.size === record.size || record.root === null ? await hashFile(file, (d) => this._progressNote(live, "Checking the file…", d, file.size)) : null;
    } catch (err) {
      hashed = null;
      debug("transfer", "pickAgain: unreadable", err);
    }
    if (!hashed || (record.root !== null && hashed.root !== record.root)) {
      record.error = NOT_SAME_FILE;
      live.note = "Pick the file again to go on";
      this._changed();
      throw new Error(NOT_SAME_FILE);
    }
    live.file = file;
    const offered = record.root !== null;
    Object.assign(record, { root: hashed.root, hashes: hashed.blocks, state: "waiting", error: null });
    if (!offered) this._saveHashes(record);
    if (!offered) {
      this._hashQueue = this._hashQueue.then(() => this._prepare(record));
      return;
    }
    live.note = this._waitingNote(record);
    this._offer(record); // again: receivers waiting for this tab try at once
    for (const [participant, x] of Object.entries(record.receivers)) {
      if (x.state === "waiting" || x.state === "sending") this._armFallback(record, participant);
    }
    if (record.uploadUrl && !record.fileId) void this._uploadToServer(record);
    this._updateOutState(record);
  }

  /**
   * A receiver's data channel for one of my transfers.
   * @param {{peerId: string, channel: ChannelLike, maxMessageSize?: number | null}} detail
   */
  _onDataChannel({ peerId, channel, maxMessageSize }) {
    const id = transferOfLabel(channel.label);
    const record = id ? this._records.get(id) : undefined;
    const participant = this.room.peers.get(peerId)?.participant_id;
    // "done" still serves: a late receiver of an offer to everyone (its channel may come
    // before its accept, which travels through the server).
    const over = !record || OVER.includes(record.state);
    if (!record || over || record.direction !== "out" || !participant || !this._mayReceive(record, participant)) {
      channel.close();
      return;
    }
    const chunk = maxMessageSize && maxMessageSize > HEADER_BYTES ? Math.min(CHUNK_BYTES, maxMessageSize - HEADER_BYTES) : CHUNK_BYTES;
    const whenOpen = () => this._serve(record, participant, peerId, channel, chunk);
    if (channel.readyState === "open") whenOpen();
    else channel.addEventListener("open", whenOpen, { once: true });
  }

  /**
   * @param {TransferRecord} record
   * @param {string} participant
   * @param {string} peerId
   * @param {ChannelLike} channel
   * @param {number} chunkBytes  payload per frame
   */
  _serve(record, participant, peerId, channel, chunkBytes) {
    const live = this._liveOf(record.id);
    if (!live.file || !record.hashes) {
      channel.send(encodeControl({ t: "nofile" }));
      channel.close();
      return;
    }
    channel.binaryType = "arraybuffer";
    live.sessions.get(participant)?.session.close();
    this._clock.clearTimeout(live.fallbackTimers.get(participant));
    const receiver = (record.receivers[participant] ??= { name: this._nameOf(participant), state: "waiting", have: 0 });
    receiver.state = "sending";
    const session = new SendSession({
      channel, file: live.file, hashes: record.hashes, chunkBytes,
      onBytes: (n) => this._sent(live, n),
      onBad: () => (live.blocksBad += 1),
      onVerified: () => this._verifiedBy(record, participant, session),
    });
    live.sessions.set(participant, { session, peerId });
    live.path = this._pathOf(peerId);
    live.note = null;
    channel.addEventListener("close", () => this._sessionClosed(record, participant, session));
    this._updateOutState(record);
  }

  /**
   * @param {Live} live
   * @param {number} bytes
   */
  _sent(live, bytes) {
    live.bytesSent += bytes;
    this._sample(live, live.bytesSent);
  }

  /**
   * @param {TransferRecord} record
   * @param {string} participant
   * @param {SendSession} session
   */
  _verifiedBy(record, participant, session) {
    const receiver = record.receivers[participant];
    if (!receiver) return;
    let have = 0;
    while (have < session.count && session.confirmed.has(have)) have++;
    receiver.have = Math.max(receiver.have, have);
    if (session.complete) this._receiverDone(record, participant);
    else this._changed();
  }

  /**
   * @param {TransferRecord} record
   * @param {string} participant
   * @param {SendSession} session
   */
  _sessionClosed(record, participant, session) {
    const live = this._liveOf(record.id);
    if (live.sessions.get(participant)?.session !== session) return;
    live.sessions.delete(participant);
    session.close();
    const receiver = record.receivers[participant];
    if (receiver?.state === "sending") {
      receiver.state = "waiting";
      live.note = "Connection lost; reconnecting…";
      this._armFallback(record, participant);
    }
    this._updateOutState(record);
  }

  /**
   * @param {TransferRecord} record
   * @param {string} participant
   */
  _receiverDone(record, participant) {
    const receiver = record.receivers[participant];
    if (!receiver || receiver.state === "done") return;
    Object.assign(receiver, { state: "done", have: record.blocks });
    const live = this._liveOf(record.id);
    this._clock.clearTimeout(live.fallbackTimers.get(participant));
    live.fallbackTimers.delete(participant);
    this._updateOutState(record);
  }

  /**
   * The sender's state follows its receivers.
   * @param {TransferRecord} record
   */
  _updateOutState(record) {
    if (FINAL.includes(record.state) && record.state !== "done") return this._commit(record);
    if (record.state === "needs-file" || record.root === null) return this._commit(record);
    const states = Object.values(record.receivers).map((x) => x.state);
    const live = this._liveOf(record.id);
    if (states.some((s) => s === "sending" || s === "waiting")) {
      record.state = "sending";
      if (!states.includes("sending")) live.note ??= this._waitingNote(record);
    } else if (states.includes("done")) {
      record.state = "done";
    } else if (record.to !== null && states.includes("declined")) {
      record.state = "declined";
    } else if (record.to !== null && states.includes("cancelled")) {
      record.state = "cancelled";
    } else {
      record.state = "waiting";
    }
    if (record.state === "sending" && states.includes("sending")) live.note = null;
    this._commit(record);
  }

  // ---- the fallback: the server ---------------------------------------------------------

  /**
   * Give the receiver p2p_timeout to open a channel, then go through the server.
   * @param {TransferRecord} record
   * @param {string} participant
   */
  _armFallback(record, participant) {
    const live = this._liveOf(record.id);
    this._clock.clearTimeout(live.fallbackTimers.get(participant));
    if (live.sessions.has(participant) || !live.file || record.fileId) return;
    const direct = [...this.room.peers.values()].some((v) => v.participant_id === participant && v.direct);
    const wait = direct ? this._p2pTimeout() : 0; // no direct link is even tried: no point waiting
    live.fallbackTimers.set(participant, this._clock.setTimeout(() => {
      live.fallbackTimers.delete(participant);
      if (!live.sessions.has(participant) && !this._closed) void this._uploadToServer(record);
    }, wait));
  }

  /** p2p_timeout: localStorage.peerlaneP2pTimeoutMs (tests), the room's setting, or 10 s. */
  _p2pTimeout() {
    if (this._p2pTimeoutMs !== null) return this._p2pTimeoutMs;
    const local = localMs("peerlaneP2pTimeoutMs");
    if (local !== null) return local;
    const seconds = Number(this.room.roomInfo?.p2p_timeout);
    return seconds > 0 ? seconds * 1000 : DEFAULT_P2P_TIMEOUT_MS;
  }

  /**
   * Upload the file with tus (once per transfer), then tell the receivers.
   * @param {TransferRecord} record
   */
  async _uploadToServer(record) {
    const live = this._liveOf(record.id);
    if (live.upload || record.fileId || !live.file || FINAL.includes(record.state)) return;
    const controller = new AbortController();
    live.upload = controller;
    live.uploadSent = 0; // tus counts the bytes of each upload() call from 0
    live.note = "Sending through the server…";
    if (!live.sessions.size) live.path = "server";
    this._changed();
    try {
      const { fileId } = await this._upload(live.file, {
        endpoint: `/api/rooms/${encodeURIComponent(this.room.id)}/uploads`,
        metadata: { room: this.room.id, name: record.name, type: record.type, root: record.root, to: record.to },
        url: record.uploadUrl,
        onUrl: (url) => {
          record.uploadUrl = url;
          this._save(record);
        },
        onProgress: ({ offset, sent }) => this._uploadProgress(live, offset, sent),
        onRetry: () => this._setNote(live, "Server unreachable; retrying…"),
        signal: controller.signal,
        fetch: this._fetch,
      });
      record.fileId = fileId;
      live.note = this._waitingNote(record);
      this._control(record, { op: "uploaded", file_id: fileId });
      this._updateOutState(record);
    } catch (err) {
      if (controller.signal.aborted || this._closed) return;
      const reason = err instanceof TusError ? err.message : errorText(err);
      // Receivers still served directly keep going; otherwise there is no way left.
      if (!live.sessions.size) this._fail(record, `Could not send the file through the server: ${reason}`);
    } finally {
      // A retry may have started another upload meanwhile: that one stays.
      if (live.upload === controller) live.upload = null;
    }
  }

  /**
   * @param {Live} live
   * @param {number} offset
   * @param {number} sent
   */
  _uploadProgress(live, offset, sent) {
    live.bytesSent += sent - live.uploadSent;
    live.uploadSent = sent;
    live.uploadOffset = offset;
    live.note = "Sending through the server…";
    this._sample(live, live.bytesSent);
    this._changed();
  }

  // ---- receiving ----------------------------------------------------------------------

  /** @param {string} id */
  async accept(id) {
    const record = this._records.get(id);
    if (!record || record.direction !== "in" || record.state !== "offered") return;
    record.state = "waiting";
    record.accepted = true;
    this._setNote(this._liveOf(id), "Connecting…");
    const free = await this._partials.free?.().catch(() => null);
    if (typeof free === "number" && free < record.size) {
      return this._fail(record, `Not enough storage space in this browser for this file (${formatMiB(record.size)} needed, ${formatMiB(free)} free).`);
    }
    try {
      await this._openReceiver(record);
    } catch (err) {
      return this._fail(record, `This browser cannot store the file: ${errorText(err)}`);
    }
    this._control(record, { op: "accept", have: record.have });
    this._commit(record); // also starts the stall watchdog's clock for it
    this._pursue(id);
  }

  /** @param {string} id */
  decline(id) {
    const record = this._records.get(id);
    if (!record || record.direction !== "in" || record.state !== "offered") return;
    record.state = "declined";
    this._control(record, { op: "decline" });
    this._commit(record);
  }

  /** @param {TransferRecord} record */
  async _openReceiver(record) {
    const live = this._liveOf(record.id);
    if (live.receiver) return;
    const writer = await this._partials.open(record.id, record.size);
    live.writer = writer;
    live.receiver = new BlockReceiver({
      size: record.size, root: /** @type {string} */ (record.root), writer,
      hashes: record.hashes, have: record.have, stored: record.stored,
    });
    if (live.receiver.complete) void this._finish(record);
  }

  /**
   * Get the bytes by the best way open now: a direct channel to the sender, else the
   * server's copy; else wait (peers events and `uploaded` call this again).
   * @param {string} id
   */
  _pursue(id) {
    const record = this._records.get(id);
    const live = this._live.get(id);
    if (!record || !live?.receiver || this._closed || record.state === "needs-file") return;
    if (FINAL.includes(record.state) || record.state === "verifying" || live.channel || live.download) return;
    if (live.receiver.complete) return void this._finish(record);
    if (record.fileId) return void (live.downloading = this._downloadFromServer(record));
    // The sender's tab said it has no file: it offers again once it has; ask rarely meanwhile.
    const wait = live.noFileUntil - this._clock.now();
    if (wait > 0) return this._retryLater(record, wait);
    const peerId = this._senderPeer(record);
    if (peerId) return this._openChannel(record, peerId);
    this._setNote(live, `Waiting for ${record.senderName} to connect…`);
  }

  /**
   * A peer id of the sender with an open direct link (the one named in the offer first).
   * @param {TransferRecord} record
   * @returns {string | null}
   */
  _senderPeer(record) {
    const live = this._liveOf(record.id);
    const open = [...this.room.peers.values()]
      .filter((v) => v.participant_id === record.sender && (v.path === "direct" || v.path === "turn"))
      .filter((v) => (live.wrongPeers.get(v.peer_id) ?? 0) <= this._clock.now())
      .map((v) => v.peer_id);
    return open.includes(record.offerPeer ?? "") ? record.offerPeer : open[0] ?? null;
  }

  /**
   * @param {TransferRecord} record
   * @param {string} peerId
   */
  _openChannel(record, peerId) {
    const live = this._liveOf(record.id);
    const channel = this.room.openDataChannel(peerId, labelOf(record.id));
    if (!channel) return this._retryLater(record);
    channel.binaryType = "arraybuffer";
    live.channel = channel;
    live.channelPeer = peerId;
    let heard = false;
    let opened = false;
    channel.addEventListener("open", () => {
      opened = true;
      const receiver = /** @type {BlockReceiver} */ (live.receiver);
      channel.send(encodeControl({ t: "want", from: receiver.have, hashes: !receiver.hashes }));
      live.path = this._pathOf(peerId);
    });
    channel.addEventListener("message", (ev) => {
      heard = true;
      const data = /** @type {MessageEvent} */ (ev).data;
      live.queue = live.queue.then(() => this._onFrame(record, channel, data)).catch((err) => {
        this._fail(record, `Could not store the file: ${errorText(err)}`);
      });
    });
    channel.addEventListener("close", () => {
      // Opened and closed at once by a peer whose link is still up: a tab of the sender
      // that does not have this transfer. Try the sender's other tabs next time.
      const linked = ["direct", "turn"].includes(this.room.peers.get(peerId)?.path ?? "");
      if (opened && !heard && linked) live.wrongPeers.set(peerId, this._clock.now() + WRONG_PEER_MS);
      live.queue = live.queue.then(() => this._channelClosed(record, channel));
    });
  }

  /**
   * One frame from the sender, in order.
   * @param {TransferRecord} record
   * @param {ChannelLike} channel
   * @param {unknown} data
   */
  async _onFrame(record, channel, data) {
    const live = this._liveOf(record.id);
    const receiver = live.receiver;
    if (!receiver || live.channel !== channel || FINAL.includes(record.state)) return;
    const control = typeof data === "string" ? decodeControl(data) : null;
    if (control?.t !== "nofile") live.noFile = false;
    if (record.state === "waiting" && control?.t !== "nofile") {
      // Bytes (or hashes) flow: only now "receiving", so a refusal does not flicker.
      record.state = "receiving";
      live.note = null;
      this._commit(record);
    }
    if (data instanceof ArrayBuffer) {
      const frame = decodeData(data);
      if (!frame) return;
      live.bytesReceived += frame.bytes.length;
      this._sample(live, live.bytesReceived);
      const result = await receiver.ingest(frame.block, frame.offset, frame.bytes);
      return this._afterIngest(record, result, (msg) => channel.readyState === "open" && channel.send(encodeControl(msg)));
    }
    if (control?.t === "hashes") {
      live.wrongPeers.clear();
      if (!(await receiver.addHashes(control.from, splitHashes(control.hashes)))) {
        this._fail(record, "The sender's file does not match its offer.");
      }
    } else if (control?.t === "end" && !receiver.complete) {
      receiver.dropPartial();
      channel.send(encodeControl({ t: "want", from: receiver.have, hashes: !receiver.hashes }));
    } else if (control?.t === "nofile") {
      live.noFileUntil = this._clock.now() + NO_FILE_RETRY_MS;
      live.noFile = true;
      this._setNote(live, `Waiting for ${record.senderName} to pick the file again…`);
    }
  }

  /**
   * Bookkeeping after a piece was taken in: acknowledge, re-request, checkpoint, finish.
   * @param {TransferRecord} record
   * @param {import("./transfer-receive.js").IngestResult} result
   * @param {(msg: import("./transfer-wire.js").ControlFrame) => unknown} reply
   */
  async _afterIngest(record, result, reply) {
    const live = this._liveOf(record.id);
    const receiver = /** @type {BlockReceiver} */ (live.receiver);
    if (result.kind === "bad") {
      live.blocksBad += 1;
      if ((receiver.badCounts.get(result.block) ?? 0) > MAX_BAD_PER_BLOCK) {
        return this._fail(record, "The sender's file keeps arriving damaged (was it changed while sending?).");
      }
      reply({ t: "bad", block: result.block });
      return;
    }
    if (result.kind === "known") {
      reply({ t: "ok", block: result.block });
      return;
    }
    if (result.kind !== "verified") return;
    reply({ t: "ok", block: result.block });
    if (receiver.complete) return this._finish(record);
    this._checkpointSoon(record, live);
    this._changed();
  }

  /**
   * Record progress at most every CHECKPOINT_MS: at once when the last checkpoint is that
   * old, else when it will be (so the last blocks before a pause are recorded too). A
   * checkpoint is an OPFS flush and an IndexedDB write, too much for every block.
   * @param {TransferRecord} record
   * @param {Live} live
   */
  _checkpointSoon(record, live) {
    if (live.checkpointTimer !== null) return;
    const wait = live.checkpointAt + CHECKPOINT_MS - this._clock.now();
    if (wait <= 0) {
      void this._checkpoint(record);
      return;
    }
    live.checkpointTimer = this._clock.setTimeout(() => {
      live.checkpointTimer = null;
      if (!this._closed) void this._checkpoint(record);
    }, wait);
  }

  /**
   * Make the verified prefix durable, then record it (never the other way round). One at
   * a time; a request meanwhile runs once more after it.
   * @param {TransferRecord} record
   */
  async _checkpoint(record) {
    const live = this._liveOf(record.id);
    this._clock.clearTimeout(live.checkpointTimer);
    live.checkpointTimer = null;
    if (live.checkpointing) {
      live.checkpointAgain = true;
      return live.checkpointing;
    }
    live.checkpointing = (async () => {
      do {
        live.checkpointAgain = false;
        await this._checkpointOnce(record, live);
      } while (live.checkpointAgain);
    })().catch((err) => debug("transfer", "checkpoint failed", err)).finally(() => {
      live.checkpointing = null;
    });
    return live.checkpointing;
  }

  /**
   * @param {TransferRecord} record
   * @param {Live} live
   */
  async _checkpointOnce(record, live) {
    const receiver = live.receiver;
    const writer = live.writer;
    if (!receiver || !writer || FINAL.includes(record.state)) return;
    live.checkpointAt = this._clock.now();
    const have = receiver.have;
    const newHashes = receiver.hashes && !record.hashes;
    await writer.flush();
    if (receiver.hashes) {
      record.hashes = receiver.hashes;
      if (newHashes) await this._saveHashes(record);
    } else {
      record.stored = receiver.storedHashes().slice(0, have);
      await this._manifests.put({ id: `${record.id}/stored`, room: "", stored: record.stored });
    }
    if (live.receiver !== receiver || FINAL.includes(record.state)) return;
    record.have = have;
    await this._manifests.put(this._persisted(record));
  }

  /**
   * @param {TransferRecord} record
   * @param {ChannelLike} channel
   */
  _channelClosed(record, channel) {
    const live = this._liveOf(record.id);
    if (live.channel !== channel) return;
    live.channel = null;
    live.receiver?.dropPartial();
    if (FINAL.includes(record.state) || record.state === "verifying") return;
    record.state = "waiting";
    if (live.note === null) live.note = "Connection lost; reconnecting…";
    void this._checkpoint(record);
    this._commit(record);
    if (record.fileId) return this._pursue(record.id);
    this._retryLater(record);
  }

  /**
   * @param {TransferRecord} record
   * @param {number} [ms]
   */
  _retryLater(record, ms = this._retryMs) {
    const live = this._liveOf(record.id);
    this._clock.clearTimeout(live.retryTimer);
    live.retryTimer = this._clock.setTimeout(() => {
      live.retryTimer = null;
      this._pursue(record.id);
    }, ms);
  }

  _onPeers() {
    for (const [id, record] of this._records) {
      if (record.direction === "in" && record.accepted && !FINAL.includes(record.state)) this._pursue(id);
    }
  }

  /**
   * Download the server's copy with Range from the first unverified block, retrying.
   * @param {TransferRecord} record
   */
  async _downloadFromServer(record) {
    const live = this._liveOf(record.id);
    const receiver = /** @type {BlockReceiver} */ (live.receiver);
    const download = new AbortController();
    live.download = download;
    live.path = "server";
    record.state = "receiving";
    this._setNote(live, "Downloading from the server…");
    this._commit(record);
    let failures = 0;
    try {
      while (!receiver.complete && !download.signal.aborted) {
        const progressed = await this._downloadOnce(record, download.signal);
        failures = progressed ? 0 : failures + 1;
        if (failures > MAX_BAD_PER_BLOCK * 3) throw new Error("the download keeps failing");
        if (!receiver.complete) await delay(this._clock, Math.min(30_000, this._retryMs * 2 ** failures), download.signal);
      }
    } catch (err) {
      if (!download.signal.aborted && !this._closed) this._fail(record, errorText(err));
      return;
    } finally {
      // A retry may have started another download meanwhile: that one stays.
      if (live.download === download) live.download = null;
    }
    if (download.signal.aborted) return;
    if (receiver.complete) await this._finish(record);
  }

  /**
   * One ranged GET, fed into the receiver until it ends or a block fails.
   * @param {TransferRecord} record
   * @param {AbortSignal} signal
   * @returns {Promise<boolean>}  whether any block was verified
   */
  async _downloadOnce(record, signal) {
    const live = this._liveOf(record.id);
    const receiver = /** @type {BlockReceiver} */ (live.receiver);
    const before = receiver.verifiedCount;
    const start = receiver.have * BLOCK_SIZE;
    let response;
    try {
      response = await this._fetch(`/api/rooms/${encodeURIComponent(this.room.id)}/files/${encodeURIComponent(/** @type {string} */ (record.fileId))}`, {
        headers: { Range: `bytes=${start}-`, "If-Range": `"${record.root}"` },
        credentials: "same-origin", cache: "no-store", signal,
      });
    } catch (err) {
      if (signal.aborted) throw err;
      this._setNote(live, "Server unreachable; retrying…");
      return false;
    }
    if (response.status === 404 || response.status === 410) throw new Error("The file is no longer on the server.");
    if (!response.ok || !response.body) {
      this._setNote(live, `The server answered ${response.status}; retrying…`);
      return false;
    }
    const from = response.status === 206 ? start : 0;
    await this._ingestStream(record, response.body, from, signal).catch((err) => {
      if (signal.aborted) throw err;
      debug("transfer", "download interrupted", err);
    });
    receiver.dropPartial();
    await this._checkpoint(record);
    return receiver.verifiedCount > before;
  }

  /**
   * @param {TransferRecord} record
   * @param {ReadableStream<Uint8Array>} body
   * @param {number} position  file offset of the first byte
   * @param {AbortSignal} signal
   */
  async _ingestStream(record, body, position, signal) {
    const live = this._liveOf(record.id);
    const receiver = /** @type {BlockReceiver} */ (live.receiver);
    const reader = body.getReader();
    signal.addEventListener("abort", () => void reader.cancel().catch(() => {}), { once: true });
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      live.bytesReceived += value.length;
      this._sample(live, live.bytesReceived);
      for (let at = 0; at < value.length;) {
        const block = Math.floor(position / BLOCK_SIZE);
        const offset = position % BLOCK_SIZE;
        const take = Math.min(value.length - at, blockLength(record.size, block) - offset);
        if (take <= 0) return; // past the end: a server sending more than the file
        const result = await receiver.ingest(block, offset, value.subarray(at, at + take));
        if (result.kind === "bad") {
          live.blocksBad += 1;
          void reader.cancel().catch(() => {});
          return;
        }
        await this._afterIngest(record, result, () => {});
        if (receiver.complete) return;
        at += take;
        position += take;
      }
    }
  }

  /**
   * Every block is in: check the root, then done (or start over / fail).
   * @param {TransferRecord} record
   */
  async _finish(record) {
    const live = this._liveOf(record.id);
    const receiver = live.receiver;
    if (!receiver || record.state === "verifying" || FINAL.includes(record.state)) return;
    record.state = "verifying";
    this._clock.clearTimeout(live.checkpointTimer);
    live.checkpointTimer = null;
    this._setNote(live, "Checking the file…");
    await live.checkpointing; // its record must not land after the final one
    this._commit(record);
    const good = await receiver.verifyRoot();
    if (!good) {
      if (receiver.hashes || live.rootRetries++ > 0) return this._fail(record, "The file did not pass the integrity check.");
      receiver.reset(); // a server download without the hash list: once more from scratch
      Object.assign(record, { have: 0, stored: [], state: "waiting" });
      return this._pursue(record.id);
    }
    await live.writer?.flush();
    await live.writer?.close();
    live.writer = null;
    Object.assign(record, { state: "done", have: record.blocks, stored: [], hashes: null });
    this._dropHashes(record.id);
    live.note = null;
    live.channel?.close();
    this._control(record, { op: "done" });
    this._commit(record);
  }

  // ---- both directions ----------------------------------------------------------------

  /** @param {string} id */
  cancel(id) {
    const record = this._records.get(id);
    if (!record || FINAL.includes(record.state)) return;
    const wasOffered = record.root !== null;
    record.state = "cancelled";
    this._stop(record);
    if (wasOffered) this._control(record, { op: "cancel" });
    if (record.direction === "in") {
      void this._partials.remove(id).catch(() => {});
      this._dropHashes(id);
    }
    if (record.direction === "out" && record.uploadUrl) void this._terminate(record.uploadUrl, { fetch: this._fetch }).catch(() => {});
    this._commit(record);
  }

  /** @param {string} id */
  async save(id) {
    const file = await this.getFile(id);
    const record = this._records.get(id);
    if (file && record) this._offerDownload(file, record.name);
  }

  /**
   * The verified file of a finished incoming transfer.
   * @param {string} id
   * @returns {Promise<File | null>}
   */
  async getFile(id) {
    const record = this._records.get(id);
    if (!record || record.direction !== "in" || record.state !== "done") return null;
    return this._partials.file(id, record.name.split("/").pop() || record.name, record.type);
  }

  /** Forget a transfer that is over (its stored bytes too). @param {string} id */
  dismiss(id) {
    const record = this._records.get(id);
    if (!record || (!FINAL.includes(record.state) && record.state !== "offered")) return;
    if (record.state === "offered") this.decline(id);
    this._stop(record);
    // A tombstone, so the offer in the chat history does not bring it back.
    const tombstone = { ...blankRecord(id, record.room, record.direction, record.createdAt), state: record.state, dismissed: true };
    this._records.set(id, tombstone);
    this._dropHashes(id);
    if (record.direction === "in") void this._partials.remove(id).catch(() => {});
    this._commit(tombstone);
  }

  /** Stop moving bytes for a transfer. @param {TransferRecord} record */
  _stop(record) {
    const live = this._liveOf(record.id);
    live.hashing?.abort();
    live.upload?.abort();
    live.download?.abort();
    for (const { session } of live.sessions.values()) session.close();
    live.sessions.clear();
    for (const timer of live.fallbackTimers.values()) this._clock.clearTimeout(timer);
    live.fallbackTimers.clear();
    this._clock.clearTimeout(live.retryTimer);
    this._clock.clearTimeout(live.checkpointTimer);
    live.checkpointTimer = null;
    const channel = live.channel;
    live.channel = null;
    channel?.close();
    void live.writer?.close().catch(() => {});
    live.writer = null;
    live.receiver = null;
  }

  /**
   * @param {TransferRecord} record
   * @param {string} error
   */
  _fail(record, error) {
    if (FINAL.includes(record.state)) return;
    record.state = "failed";
    record.error = error;
    this._stop(record);
    this._commit(record);
  }

  // ---- the stall watchdog ---------------------------------------------------------------
  // A transfer that should be moving bytes and has moved none for stallMs shows "stalled"
  // and offers retry(): whatever went wrong (a lost accept, a frozen channel, an upload
  // that hangs), the person sees it and can start it again on some path. Bytes moving
  // again clear it by themselves (_sample).

  /**
   * Whether a transfer should be moving bytes now. Not: waiting for a person (offered,
   * needs-file, an unaccepted offer), checking the root, finished, or a sender whose
   * server copy is complete and who serves no channel (the receivers download it).
   * @param {TransferRecord} record
   * @param {Live} live
   */
  _watched(record, live) {
    if (record.dismissed) return false;
    if (record.direction === "in") return record.accepted && !live.noFile && (record.state === "waiting" || record.state === "receiving");
    return record.state === "sending" && (live.sessions.size > 0 || !record.fileId);
  }

  /**
   * Start watching a transfer (its clock starts now) and make sure the check runs.
   * @param {TransferRecord} record
   */
  _watch(record) {
    const live = this._liveOf(record.id);
    if (!this._watched(record, live)) {
      live.progressAt = null;
      live.stalled = false;
      return;
    }
    live.progressAt ??= this._clock.now();
    this._armWatchdog();
  }

  _armWatchdog() {
    if (this._watchdogTimer !== null || this._closed) return;
    // Checked a few times per stallMs: a stall shows between stallMs and 1.2 × stallMs.
    this._watchdogTimer = this._clock.setTimeout(() => this._watchdog(), Math.max(1, this._stallMs / 5));
  }

  _watchdog() {
    this._watchdogTimer = null;
    if (this._closed) return;
    const now = this._clock.now();
    let watching = false;
    for (const [id, record] of this._records) {
      const live = this._liveOf(id);
      if (!this._watched(record, live)) {
        live.progressAt = null;
        live.stalled = false;
        continue;
      }
      watching = true;
      live.progressAt ??= now;
      if (!live.stalled && now - live.progressAt >= this._stallMs) {
        live.stalled = true;
        debug("transfer", "stalled", id, record.direction, record.state);
        this._changed();
      }
    }
    if (watching) this._armWatchdog();
  }

  /**
   * Start a stalled transfer again. Receiver: drop the channel or download it was on,
   * keep the verified blocks, and accept again (the sender arms its fallback once more);
   * a server copy is taken at once, a stalled direct link is left alone for a while so
   * the sender's fallback can put the file on the server. Sender: put the file on the
   * server now (a hung upload starts again and resumes), or, with the copy there, close
   * the stalled channels so their receivers switch to it.
   * @param {string} id
   * @returns {boolean}  whether anything was restarted
   */
  retry(id) {
    const record = this._records.get(id);
    const live = this._live.get(id);
    if (!record || !live || !live.stalled || !this._watched(record, live)) return false;
    live.stalled = false;
    live.progressAt = this._clock.now();
    if (record.direction === "in") this._retryIncoming(record, live);
    else this._retryOutgoing(record, live);
    this._changed();
    return true;
  }

  /**
   * @param {TransferRecord} record
   * @param {Live} live
   */
  _retryIncoming(record, live) {
    const channel = live.channel;
    if (channel) {
      if (live.channelPeer) live.wrongPeers.set(live.channelPeer, this._clock.now() + WRONG_PEER_MS);
      live.channel = null;
      live.receiver?.dropPartial();
      channel.close();
    }
    // An aborted download still has a piece on its way into the receiver: the next path
    // starts once it has stopped, so the two never feed the same block.
    const downloading = live.download ? live.downloading : null;
    live.download?.abort();
    live.receiver?.dropPartial();
    live.noFileUntil = 0;
    live.noFile = false;
    this._clock.clearTimeout(live.retryTimer);
    live.retryTimer = null;
    record.state = "waiting";
    live.note = "Trying again…";
    this._control(record, { op: "accept", have: live.receiver?.have ?? record.have });
    this._commit(record);
    const pursue = () => this._pursue(record.id);
    if (downloading) void downloading.then(pursue, pursue);
    else pursue();
  }

  /**
   * @param {TransferRecord} record
   * @param {Live} live
   */
  _retryOutgoing(record, live) {
    if (!record.fileId) {
      live.upload?.abort();
      live.upload = null;
      void this._uploadToServer(record);
      return;
    }
    for (const { session } of live.sessions.values()) session.close();
    this._control(record, { op: "uploaded", file_id: record.fileId });
  }

  // ---- control messages (chat kind "file") ----------------------------------------------

  /**
   * @param {TransferRecord} record
   * @param {Record<string, unknown>} body
   */
  _control(record, body) {
    try {
      this.room.sendFileMessage({ ...body, transfer: record.id });
    } catch (err) {
      debug("transfer", "control message not sent", body.op, err);
    }
  }

  /**
   * A chat message of kind "file" (history, live, or from a peer), each once.
   * @param {{sender: string, sender_name: string, body: unknown}} msg
   */
  _onFileMessage(msg) {
    const me = this.room.me?.participant_id;
    const body = /** @type {Record<string, unknown>} */ (msg.body);
    if (!me || msg.sender === me || !body || typeof body !== "object" || !validId(body.transfer)) return;
    if (!FILE_OPS.includes(/** @type {string} */ (body.op))) return; // a newer client's op
    this._names.set(msg.sender, msg.sender_name);
    const id = /** @type {string} */ (body.transfer);
    const record = this._records.get(id);
    if (body.op === "offer" && record?.direction === "in" && msg.sender === record.sender) return this._offeredAgain(record, body);
    if (body.op === "offer") return record ? undefined : this._offered(msg, id, body, me);
    if (!record || record.dismissed) return;
    if (record.direction === "out") return this._fromReceiver(record, msg.sender, body);
    if (msg.sender === record.sender) this._fromSender(record, body);
  }

  /**
   * @param {{sender: string, sender_name: string}} msg
   * @param {string} id
   * @param {Record<string, unknown>} body
   * @param {string} me
   */
  _offered(msg, id, body, me) {
    const { name, size, type, root, blocks, to, peer } = body;
    if (to !== null && to !== me) return; // addressed to someone else
    if (!Number.isSafeInteger(size) || /** @type {number} */ (size) < 0 || !isRoot(root)) return;
    if (blocks !== blockCount(/** @type {number} */ (size))) return;
    /** @type {TransferRecord} */
    const record = {
      ...blankRecord(id, this.room.id, "in", this._clock.now()),
      state: "offered", name: cleanName(name), size: /** @type {number} */ (size), type: typeof type === "string" ? type.slice(0, 255) : "",
      sender: msg.sender, senderName: msg.sender_name, to: /** @type {string | null} */ (to), toName: to ? this._nameOf(/** @type {string} */ (to)) : null,
      root: /** @type {string} */ (root), blocks: /** @type {number} */ (blocks), offerPeer: typeof peer === "string" ? peer : null,
    };
    this._records.set(id, record);
    this._commit(record);
  }

  /**
   * The sender offers a known transfer again (it picked the file again after a reload):
   * a receiver waiting for it tries at once, on the tab named now.
   * @param {TransferRecord} record  incoming
   * @param {Record<string, unknown>} body
   */
  _offeredAgain(record, body) {
    if (record.dismissed || body.root !== record.root) return;
    if (typeof body.peer === "string") record.offerPeer = body.peer;
    const live = this._liveOf(record.id);
    live.wrongPeers.clear();
    live.noFileUntil = 0;
    live.noFile = false;
    if (record.accepted && !FINAL.includes(record.state) && !live.channel) {
      this._clock.clearTimeout(live.retryTimer);
      this._pursue(record.id);
    }
  }

  /**
   * @param {TransferRecord} record  outgoing
   * @param {string} participant
   * @param {Record<string, unknown>} body
   */
  _fromReceiver(record, participant, body) {
    if (!this._mayReceive(record, participant)) return;
    const receiver = record.receivers[participant];
    if (body.op === "accept") {
      const have = Number.isSafeInteger(body.have) ? Math.min(/** @type {number} */ (body.have), record.blocks) : 0;
      if (receiver?.state === "done") return;
      record.receivers[participant] = { name: this._nameOf(participant), state: receiver?.state === "sending" ? "sending" : "waiting", have };
      // A late accept of an offer to everyone that is "done" for the others still needs a
      // path (finding 11: no fallback was armed, and a receiver without a channel waited
      // for ever). After a reload of this page there is no File to serve it from.
      if (record.state === "done" && !this._liveOf(record.id).file && !record.fileId) record.state = "needs-file";
      if (record.state !== "needs-file" && !OVER.includes(record.state)) this._armFallback(record, participant);
    } else if (body.op === "decline" || body.op === "cancel") {
      if (receiver?.state === "done") return;
      record.receivers[participant] = { name: this._nameOf(participant), state: body.op === "decline" ? "declined" : "cancelled", have: receiver?.have ?? 0 };
      const live = this._liveOf(record.id);
      live.sessions.get(participant)?.session.close();
      live.sessions.delete(participant);
      this._clock.clearTimeout(live.fallbackTimers.get(participant));
    } else if (body.op === "done") {
      if (!receiver) record.receivers[participant] = { name: this._nameOf(participant), state: "waiting", have: 0 };
      return this._receiverDone(record, participant);
    } else {
      return;
    }
    this._updateOutState(record);
  }

  /**
   * @param {TransferRecord} record  incoming
   * @param {Record<string, unknown>} body
   */
  _fromSender(record, body) {
    if (body.op === "cancel") {
      if (FINAL.includes(record.state)) return;
      record.state = "cancelled";
      this._stop(record);
      void this._partials.remove(record.id).catch(() => {});
      this._commit(record);
    } else if (body.op === "uploaded" && typeof body.file_id === "string" && body.file_id) {
      record.fileId = body.file_id;
      this._save(record);
      // A working channel keeps going; otherwise (none, or a stalled one) the server's
      // copy is the way now.
      const live = this._liveOf(record.id);
      if (live.stalled && this._watched(record, live)) this.retry(record.id);
      else if (!live.channel) this._pursue(record.id);
    }
  }

  /**
   * @param {TransferRecord} record
   * @param {string} participant
   */
  _mayReceive(record, participant) {
    return record.to === null || record.to === participant;
  }

  // ---- helpers ------------------------------------------------------------------------

  _me() {
    const me = this.room.me;
    if (!me) throw new Error("The room has not started yet");
    return me;
  }

  /** @param {string} id */
  _liveOf(id) {
    let live = this._live.get(id);
    if (!live) this._live.set(id, (live = new Live()));
    return live;
  }

  /** @param {string} participant */
  _nameOf(participant) {
    for (const view of this.room.peers.values()) if (view.participant_id === participant) return view.name;
    return this._names.get(participant) ?? "someone";
  }

  /** @param {string} peerId @returns {TransferPath} */
  _pathOf(peerId) {
    return this.room.peers.get(peerId)?.path === "turn" ? "turn" : "direct";
  }

  /** @param {TransferRecord} record */
  _waitingNote(record) {
    return record.to ? `Waiting for ${record.toName ?? this._nameOf(record.to)} to accept` : "Waiting for someone to accept";
  }

  /**
   * @param {Live} live
   * @param {string} label
   * @param {number} done
   * @param {number} size
   */
  _progressNote(live, label, done, size) {
    this._setNote(live, `${label} ${size ? Math.floor((done / size) * 100) : 100} %`);
  }

  /**
   * @param {Live} live
   * @param {string | null} note
   */
  _setNote(live, note) {
    if (live.note === note) return;
    live.note = note;
    this._changed();
  }

  /**
   * @param {Live} live
   * @param {number} bytes  cumulative
   */
  _sample(live, bytes) {
    const now = this._clock.now();
    live.progressAt = now;
    live.stalled = false;
    live.samples.push([now, bytes]);
    while (live.samples.length > 2 && now - live.samples[0][0] > SPEED_WINDOW_MS) live.samples.shift();
    this._changed();
  }

  /** Persist and announce. @param {TransferRecord} record */
  _commit(record) {
    this._save(record);
    this._watch(record);
    this._changed();
  }

  /** @param {TransferRecord} record */
  _save(record) {
    this._manifests.put(this._persisted(record)).catch((err) => debug("transfer", "manifest not saved", err));
  }

  /**
   * The record as saved: without the (large) hash lists, kept apart.
   * @param {TransferRecord} record
   * @returns {Manifest}
   */
  _persisted(record) {
    const { hashes, stored, ...rest } = record;
    return /** @type {Manifest} */ (/** @type {unknown} */ (rest));
  }

  /** @param {TransferRecord} record */
  _saveHashes(record) {
    return this._manifests.put({ id: `${record.id}/hashes`, room: "", hashes: record.hashes }).catch((err) => debug("transfer", "hashes not saved", err));
  }

  /** Drop a transfer's hash lists (it is over). @param {string} id */
  _dropHashes(id) {
    for (const key of [`${id}/hashes`, `${id}/stored`]) this._manifests.remove(key).catch(() => {});
  }

  /** One "change" per burst, at most every EMIT_EVERY_MS while bytes flow. */
  _changed() {
    const e = this._emit;
    if (this._closed) return;
    this._armWatchdog(); // anything may have started a transfer that must now move
    if (e.timer !== null) {
      e.dirty = true;
      return;
    }
    if (e.queued) return;
    e.queued = true;
    queueMicrotask(() => {
      e.queued = false;
      this.dispatchEvent(new CustomEvent("change", { detail: null }));
      e.timer = this._clock.setTimeout(() => {
        e.timer = null;
        if (e.dirty) {
          e.dirty = false;
          this._changed();
        }
      }, EMIT_EVERY_MS);
    });
  }
}

/**
 * @param {string} id
 * @param {string} room
 * @param {"in" | "out"} direction
 * @param {number} createdAt
 * @returns {TransferRecord}
 */
function blankRecord(id, room, direction, createdAt) {
  return {
    id, room, direction, state: "waiting", name: "", size: 0, type: "", sender: "", senderName: "",
    to: null, toName: null, root: null, blocks: 0, hashes: null, createdAt, error: null,
    have: 0, stored: [], accepted: false, fileId: null, offerPeer: null, uploadUrl: null, receivers: {},
  };
}

/** A transfer id: 16 random bytes, hex (no secure context needed). */
export function newTransferId() {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {unknown} id */
function validId(id) {
  return typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id);
}

/** The name to show: a folder's relative path, else the file name. @param {File} file */
function displayName(file) {
  return cleanName(/** @type {File & {webkitRelativePath?: string}} */ (file).webkitRelativePath || file.name);
}

/**
 * Display text only, never a path: no control or bidi-override characters, no "..".
 * @param {unknown} name
 */
function cleanName(name) {
  const text = typeof name === "string" ? name : "";
  const clean = text
    .replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, "")
    .split(/[\\/]+/)
    .filter((part) => part && part !== "." && part !== "..")
    .join("/")
    .slice(0, 1024);
  return clean || "file";
}

/**
 * Bytes per second over the recent samples.
 * @param {[number, number][]} samples
 * @param {number} now
 */
function speedOf(samples, now) {
  if (samples.length < 2) return 0;
  const [t0, b0] = samples[0];
  const [t1, b1] = /** @type {[number, number]} */ (samples.at(-1));
  if (now - t1 > SPEED_WINDOW_MS || t1 <= t0) return 0; // stalled
  return Math.round(((b1 - b0) * 1000) / Math.max(t1 - t0, 250));
}

/**
 * A duration in ms from localStorage (tests shorten timeouts this way), or null.
 * @param {string} key
 * @returns {number | null}
 */
function localMs(key) {
  try {
    const value = Number(globalThis.localStorage?.getItem(key));
    return value > 0 ? value : null;
  } catch {
    return null; // storage blocked
  }
}

/** @param {unknown} err */
function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}

/** @param {number} bytes */
function formatMiB(bytes) {
  return `${Math.ceil(bytes / (1024 * 1024))} MiB`;
}

/**
 * @param {Clock} clock
 * @param {number} ms
 * @param {AbortSignal} signal
 * @returns {Promise<void>}
 */
function delay(clock, ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason); // "abort" will not come again
    const timer = clock.setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clock.clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

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
//
// Modules: this one holds the records, runs the machine's steps and performs their
// effects (transfer-machine.js: every state change), and serves what both sides share
// (views, cancel/dismiss, the stall watchdog). Control messages, and which side each
// goes to: transfer-control.js. The sides:
// transfer-outgoing.js, transfer-incoming.js (+ transfer-download.js). Records between
// visits: transfer-store.js; what the engine takes: transfer-types.js. Notes and errors
// are codes; ui/transfer-text.js says them in words.

import { systemClock } from "./hlc.js";
import { localMs } from "./local-ms.js";
import { defaultPartialStore, indexedDbManifests, offerDownload } from "./opfs.js";
import { onFileMessage } from "./transfer-control.js";
import { perform, stopMoving } from "./transfer-effects.js";
import { IncomingSide } from "./transfer-incoming.js";
import { ChangeBurst, followPaths, Live, SPEED_WINDOW_MS, sameNote } from "./transfer-live.js";
import { FINAL, step } from "./transfer-machine.js";
import { OutgoingSide } from "./transfer-outgoing.js";
import { newTransferId, tombstoneOf } from "./transfer-records.js";
import { dropHashes, savedRecords, saveHashes, saveRecord } from "./transfer-store.js";
import { statsOf, viewOf } from "./transfer-views.js";
import { StallWatchdog } from "./transfer-watchdog.js";
import { terminate, upload } from "./tus.js";

export { DEFAULT_P2P_TIMEOUT_MS, TransferError } from "./transfer-outgoing.js";
export { newTransferId } from "./transfer-records.js";
export { DEFAULT_STALL_MS } from "./transfer-watchdog.js";

/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */
/** @typedef {import("./transfer-records.js").TransferView} TransferView */
/** @typedef {import("./transfer-records.js").TransferPath} TransferPath */
/** @typedef {import("./transfer-records.js").TransferNote} TransferNote */
/** @typedef {import("./transfer-machine.js").TransferEvent} TransferEvent */

/** @typedef {import("./transfer-types.js").RoomLike} RoomLike */
/** @typedef {import("./transfer-types.js").TransfersOptions} TransfersOptions */

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
    /** @type {Map<string, TransferRecord>} */
    this._records = new Map();
    /** @type {Map<string, Live>} */
    this._live = new Map();
    /** participant id → name, learned from messages and peers. @type {Map<string, string>} */
    this._names = new Map();
    this._changes = new ChangeBurst(this._clock, () => this.dispatchEvent(new CustomEvent("change", { detail: null })));
    this._closed = false;
    this._out = new OutgoingSide(this);
    this._in = new IncomingSide(this);
    this._watchdog = new StallWatchdog(this, options.stallMs ?? localMs("peerlaneStallMs"));
    room.addEventListener("file", (ev) => this._closed || onFileMessage(this, /** @type {CustomEvent} */ (ev).detail));
    room.addEventListener(
      "datachannel",
      (ev) => this._closed || this._out.onDataChannel(/** @type {CustomEvent} */ (ev).detail),
    );
    room.addEventListener("peers", () => {
      if (this._closed) return;
      this._in.onPeers();
      if (followPaths(this._records, this._live, this.room.peers)) this._changed();
    });
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /** Load this room's transfers (ChatRoom calls it once `room.me` is known). */
  async start() {
    for (const record of await savedRecords(this._manifests, this.room.id)) {
      if (this._records.has(record.id)) continue;
      this._records.set(record.id, record);
      this._live.set(record.id, new Live());
      this._names.set(record.sender, record.senderName);
      // The File is gone with the page ("needs-file", unless the server copy serves);
      // an accepted incoming transfer resumes.
      if (!record.dismissed) this.step(record, { type: "restore" });
    }
    this._changed();
  }

  /** Stop everything (leaving the page); records stay for the next visit. */
  close() {
    this._closed = true;
    for (const live of this._live.values()) live.close(this._clock);
    this._changes.close();
    this._watchdog.close();
  }

  // ---- the machine --------------------------------------------------------------------

  /**
   * Run one step of the machine on a record and perform its effects. The record object
   * is kept (async work holds it): the machine's answer is copied into it.
   * @param {TransferRecord} record
   * @param {TransferEvent} event
   * @returns {boolean}  false: the event was refused in this state (nothing changed)
   */
  step(record, event) {
    const result = step(record, event);
    if (result.refused) return false;
    Object.assign(record, result.record);
    for (const effect of result.effects) perform(this, record, effect);
    return true;
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
    return statsOf(this._records, this._live);
  }

  /**
   * @param {TransferRecord} r
   * @returns {TransferView}
   */
  _view(r) {
    const live = this._liveOf(r.id);
    return viewOf(r, live, {
      now: this._clock.now(),
      stalled: live.stalled && this._watched(r, live),
      stallMs: this._watchdog.stallMs,
    });
  }

  // ---- the API, by side ---------------------------------------------------------------

  /**
   * Offer files to one participant, or to everyone (to = null).
   * @param {File[]} files
   * @param {string | null} [to]
   * @returns {string[]}  the new transfer ids
   */
  send(files, to = null) {
    return this._out.send(files, to);
  }

  /** @param {string} id @param {File} file */
  pickAgain(id, file) {
    return this._out.pickAgain(id, file);
  }

  /** @param {string} id */
  accept(id) {
    return this._in.accept(id);
  }

  /** @param {string} id */
  decline(id) {
    const record = this._records.get(id);
    if (record?.direction === "in") this.step(record, { type: "decline" });
  }

  /** @param {string} id */
  cancel(id) {
    const record = this._records.get(id);
    if (record) this.step(record, { type: "cancel" });
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
    if (record?.direction !== "in" || record.state !== "done") return null;
    return this._partials.file(id, record.name.split("/").pop() || record.name, record.type);
  }

  /** Forget a transfer that is over (its stored bytes too). @param {string} id */
  dismiss(id) {
    const record = this._records.get(id);
    if (!record || (!FINAL.includes(record.state) && record.state !== "offered")) return;
    if (record.state === "offered") this.decline(id);
    this._stop(record);
    const tombstone = tombstoneOf(record);
    this._records.set(id, tombstone);
    this._dropHashes(id);
    if (record.direction === "in") void this._partials.remove(id).catch(() => {});
    this._commit(tombstone);
  }

  /**
   * Start a stalled transfer again (see the sides' retry, and docs/file-transfer.md →
   * "Stall watchdog").
   * @param {string} id
   * @returns {boolean}  whether anything was restarted
   */
  retry(id) {
    const record = this._records.get(id);
    const live = this._live.get(id);
    if (!record || !live?.stalled || !this._watched(record, live)) return false;
    live.stalled = false;
    live.progressAt = this._clock.now();
    if (record.direction === "in") this._in.retry(record, live);
    else this._out.retry(record, live);
    this._changed();
    return true;
  }

  /** Stop moving bytes for a transfer. @param {TransferRecord} record */
  _stop(record) {
    stopMoving(this, this._liveOf(record.id));
  }

  /**
   * @param {TransferRecord} record
   * @param {TransferNote} error
   */
  _fail(record, error) {
    this.step(record, { type: "fail", error });
  }

  /**
   * Whether a transfer should be moving bytes now (the stall watchdog watches it).
   * @param {TransferRecord} record
   * @param {Live} live
   */
  _watched(record, live) {
    return this._watchdog.watched(record, live);
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
    if (!live) {
      live = new Live();
      this._live.set(id, live);
    }
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

  /**
   * @param {Live} live
   * @param {"preparing" | "checking"} code
   * @param {number} done
   * @param {number} size
   */
  _progressNote(live, code, done, size) {
    this._setNote(live, { code, percent: size ? Math.floor((done / size) * 100) : 100 });
  }

  /**
   * @param {Live} live
   * @param {TransferNote | null} note
   */
  _setNote(live, note) {
    if (sameNote(live.note, note)) return;
    live.note = note;
    this._changed();
  }

  /**
   * Bytes moved (cumulative): the speed's sample, and progress for the stall watchdog.
   * @param {Live} live
   * @param {number} bytes
   */
  _sample(live, bytes) {
    const now = this._clock.now();
    this._watchdog.progressed(live);
    live.samples.push([now, bytes]);
    while (live.samples.length > 2 && now - live.samples[0][0] > SPEED_WINDOW_MS) live.samples.shift();
    this._changed();
  }

  /** Persist and announce. @param {TransferRecord} record */
  _commit(record) {
    this._save(record);
    this._watchdog.watch(record);
    this._changed();
  }

  /** @param {TransferRecord} record */
  _save(record) {
    saveRecord(this._manifests, record);
  }

  /** @param {TransferRecord} record */
  _saveHashes(record) {
    return saveHashes(this._manifests, record);
  }

  /** Drop a transfer's hash lists (it is over). @param {string} id */
  _dropHashes(id) {
    dropHashes(this._manifests, id);
  }

  /** Tell the UI (one "change" per burst, at most every 150 ms while bytes flow). */
  _changed() {
    if (this._closed) return;
    this._watchdog.arm(); // anything may have started a transfer that must now move
    this._changes.changed();
  }
}

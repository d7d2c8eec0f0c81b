// The sending side of the transfer engine: hashing and offering files, serving each
// receiver's data channel (transfer-send.js), the fallback through the server (tus.js),
// a reloaded page's "needs-file" and pickAgain. State changes go through the machine
// (transfer-machine.js) by `engine.step`.

import { debug } from "./debug.js";
import { hashFile } from "./integrity.js";
import { localMs } from "./local-ms.js";
import { sendControl } from "./transfer-control.js";
import { fileKeyOf, newFileKeyText } from "./transfer-e2e.js";
import { detailOf } from "./transfer-live.js";
import { OVER, waitingNote } from "./transfer-machine.js";
import { newTransferId, outgoingRecord } from "./transfer-records.js";
import { SendSession } from "./transfer-send.js";
import { uploadToServer } from "./transfer-upload.js";
import { CHUNK_BYTES, encodeControl, HEADER_BYTES, transferOfLabel } from "./transfer-wire.js";

/** @typedef {import("./transfer.js").Transfers} Transfers */
/** @typedef {import("./transfer-live.js").Live} Live */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */
/** @typedef {import("./transfer-wire.js").ChannelLike} ChannelLike */

export const DEFAULT_P2P_TIMEOUT_MS = 10_000;

/** Thrown by pickAgain for another file; `code` says it for ui/transfer-text.js. */
export class TransferError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class OutgoingSide {
  /** @param {Transfers} engine */
  constructor(engine) {
    this.t = engine;
    /** Hashing runs one file at a time. @type {Promise<void>} */
    this.hashQueue = Promise.resolve();
  }

  /**
   * @param {File[]} files
   * @param {string | null} to
   * @returns {string[]}
   */
  send(files, to) {
    const t = this.t;
    const me = t._me();
    // Files picked together are one batch (docs/file-transfer.md): a terminal receiver
    // waits for all of its offers, which go out one by one as each file is hashed.
    const batch = files.length > 1 ? { id: newTransferId(), count: files.length } : null;
    return [...files].map((file) => {
      const id = t._newId();
      const record = outgoingRecord({
        id,
        room: t.room.id,
        now: t._clock.now(),
        file,
        sender: me,
        to,
        toName: to ? t._nameOf(to) : null,
        key: newFileKeyText(t.room),
        batch,
      });
      t._records.set(id, record);
      const live = t._liveOf(id);
      live.file = file;
      live.note = { code: "preparing", percent: 0 };
      t._save(record);
      this.hashQueue = this.hashQueue.then(() => this._prepare(record));
      t._changed();
      return id;
    });
  }

  /**
   * Hash the file, then offer it.
   * @param {TransferRecord} record
   */
  async _prepare(record) {
    const t = this.t;
    const live = t._liveOf(record.id);
    if (record.state !== "waiting" || !live.file) return;
    const file = live.file;
    live.hashing = new AbortController();
    try {
      const { root, blocks } = await hashFile(
        file,
        (done) => t._progressNote(live, "preparing", done, file.size),
        live.hashing.signal,
      );
      Object.assign(record, { root, hashes: blocks });
      t._saveHashes(record);
    } catch (err) {
      if (record.state === "waiting") t._fail(record, { code: "cannot-read", detail: detailOf(err) });
      return;
    } finally {
      live.hashing = null;
    }
    if (record.state !== "waiting") return;
    this._offer(record);
    live.note = waitingNote(record);
    t._save(record);
    t._changed();
  }

  /**
   * Offer (or offer again: the file is available in this tab from now on).
   * @param {TransferRecord} record
   */
  _offer(record) {
    sendControl(this.t, record, {
      op: "offer",
      name: record.name,
      size: record.size,
      type: record.type,
      root: record.root,
      blocks: record.blocks,
      to: record.to,
      peer: this.t.room.me?.peer_id ?? null,
      bulk: true, // this engine takes batched accepts and dones (transfer-batch.js)
      ...(record.key ? { key: record.key } : {}),
      ...(record.batch ? { batch: record.batch.id, count: record.batch.count } : {}),
    });
  }

  /**
   * After a reload of the sender's page: the same file again (checked by its root).
   * @param {string} id
   * @param {File} file
   */
  async pickAgain(id, file) {
    const t = this.t;
    const record = t._records.get(id);
    if (record?.direction !== "out" || record.state !== "needs-file") return;
    const live = t._liveOf(id);
    live.note = { code: "checking" };
    record.error = null;
    t._changed();
    let hashed;
    try {
      hashed =
        file.size === record.size || record.root === null
          ? await hashFile(file, (d) => t._progressNote(live, "checking", d, file.size))
          : null;
    } catch (err) {
      hashed = null;
      debug("transfer", "pickAgain: unreadable", err);
    }
    if (!hashed || (record.root !== null && hashed.root !== record.root)) {
      record.error = { code: "not-same-file" };
      live.note = { code: "pick-again" };
      t._changed();
      throw new TransferError(
        "not-same-file",
        "This is not the same file: its content differs from what was offered. Pick the original file.",
      );
    }
    live.file = file;
    const offered = record.root !== null;
    if (!t.step(record, { type: "file-picked", root: hashed.root, hashes: hashed.blocks })) return;
    if (!offered) {
      t._saveHashes(record);
      this.hashQueue = this.hashQueue.then(() => this._prepare(record));
      return;
    }
    live.note = waitingNote(record);
    this._offer(record); // again: receivers waiting for this tab try at once
    for (const [participant, x] of Object.entries(record.receivers)) {
      if (x.state === "waiting" || x.state === "sending") this.armFallback(record, participant);
    }
    if (record.uploadUrl && !record.fileId) void this.uploadToServer(record);
    t.step(record, { type: "recheck" });
  }

  /**
   * A receiver's data channel for one of my transfers.
   * @param {{peerId: string, channel: ChannelLike, maxMessageSize?: number | null}} detail
   */
  onDataChannel({ peerId, channel, maxMessageSize }) {
    const t = this.t;
    const id = transferOfLabel(channel.label);
    const record = id ? t._records.get(id) : undefined;
    const participant = t.room.peers.get(peerId)?.participant_id;
    // "done" still serves: a late receiver of an offer to everyone (its channel may come
    // before its accept, which travels through the server).
    const over = !record || OVER.includes(record.state);
    if (!record || over || record.direction !== "out" || !participant || !mayReceive(record, participant)) {
      channel.close();
      return;
    }
    const chunk =
      maxMessageSize && maxMessageSize > HEADER_BYTES
        ? Math.min(CHUNK_BYTES, maxMessageSize - HEADER_BYTES)
        : CHUNK_BYTES;
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
    const t = this.t;
    const live = t._liveOf(record.id);
    if (!live.file || !record.hashes) {
      channel.send(encodeControl({ t: "nofile" }));
      channel.close();
      return;
    }
    channel.binaryType = "arraybuffer";
    live.sessions.get(participant)?.session.close();
    t._clock.clearTimeout(live.fallbackTimers.get(participant));
    const session = new SendSession({
      channel,
      file: live.file,
      hashes: record.hashes,
      fileKey: fileKeyOf(record),
      chunkBytes,
      onBytes: (n) => this._sent(live, n),
      onBad: () => (live.blocksBad += 1),
      onVerified: () => this._verifiedBy(record, participant, session),
    });
    live.sessions.set(participant, { session, peerId });
    live.path = t._pathOf(peerId);
    channel.addEventListener("close", () => this._sessionClosed(record, participant, session));
    t.step(record, { type: "receiver-served", participant, name: t._nameOf(participant) });
  }

  /**
   * @param {Live} live
   * @param {number} bytes
   */
  _sent(live, bytes) {
    live.bytesSent += bytes;
    this.t._sample(live, live.bytesSent);
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
    if (session.complete) this.t.step(record, { type: "receiver-done", participant, name: receiver.name });
    else this.t._changed();
  }

  /**
   * @param {TransferRecord} record
   * @param {string} participant
   * @param {SendSession} session
   */
  _sessionClosed(record, participant, session) {
    const live = this.t._liveOf(record.id);
    if (live.sessions.get(participant)?.session !== session) return;
    live.sessions.delete(participant);
    session.close();
    this.t.step(record, { type: "receiver-lost", participant });
  }

  // ---- the fallback: the server ---------------------------------------------------------

  /**
   * Give the receiver p2p_timeout to open a channel, then go through the server. An
   * accept while this side still serves that receiver a channel means the receiver gave
   * up on it (a Retry; the close may never arrive over a dead link): unless that channel
   * confirms a block meanwhile (it was a new one after all), the server carries it.
   * @param {TransferRecord} record
   * @param {string} participant
   */
  armFallback(record, participant) {
    const t = this.t;
    const live = t._liveOf(record.id);
    t._clock.clearTimeout(live.fallbackTimers.get(participant));
    if (!live.file || record.fileId) return;
    const served = live.sessions.get(participant)?.session ?? null;
    const confirmed = served?.confirmed.size ?? 0;
    const direct = [...t.room.peers.values()].some((v) => v.participant_id === participant && v.direct);
    const wait = direct || served ? this._p2pTimeout() : 0; // no direct link is even tried: no point waiting
    live.fallbackTimers.set(
      participant,
      t._clock.setTimeout(() => {
        live.fallbackTimers.delete(participant);
        const now = live.sessions.get(participant)?.session ?? null;
        const working = now !== null && (now !== served || now.confirmed.size > confirmed);
        if (!working && !t._closed) void this.uploadToServer(record);
      }, wait),
    );
  }

  /** p2p_timeout: localStorage.peerlaneP2pTimeoutMs (tests), the room's setting, or 10 s. */
  _p2pTimeout() {
    const t = this.t;
    if (t._p2pTimeoutMs !== null) return t._p2pTimeoutMs;
    const local = localMs("peerlaneP2pTimeoutMs");
    if (local !== null) return local;
    const seconds = Number(t.room.roomInfo?.p2p_timeout);
    return seconds > 0 ? seconds * 1000 : DEFAULT_P2P_TIMEOUT_MS;
  }

  /**
   * The fallback: upload the file with tus (once per transfer), then tell the receivers.
   * @param {TransferRecord} record
   */
  uploadToServer(record) {
    return uploadToServer(this.t, record);
  }

  /**
   * Retry of a stalled outgoing transfer: put the file on the server now (a hung upload
   * starts again and resumes), or, with the copy there, close the stalled channels so
   * their receivers switch to it.
   * @param {TransferRecord} record
   * @param {Live} live
   */
  retry(record, live) {
    if (!record.fileId) {
      live.upload?.abort();
      live.upload = null;
      void this.uploadToServer(record);
      return;
    }
    for (const { session } of live.sessions.values()) session.close();
    sendControl(this.t, record, { op: "uploaded", file_id: record.fileId });
  }

  /**
   * A control message from a receiver about one of my transfers.
   * @param {TransferRecord} record  outgoing
   * @param {string} participant
   * @param {Record<string, unknown>} body
   */
  fromReceiver(record, participant, body) {
    const t = this.t;
    if (!mayReceive(record, participant)) return;
    const name = t._nameOf(participant);
    if (body.op === "accept") {
      const have = Number.isSafeInteger(body.have) ? Math.min(/** @type {number} */ (body.have), record.blocks) : 0;
      // A late accept of an offer to everyone that is "done" for the others still needs a
      // path (finding 11); after a reload of this page the machine asks for the file again.
      t.step(record, { type: "receiver-accept", participant, name, have, hasFile: Boolean(t._liveOf(record.id).file) });
    } else if (body.op === "decline") {
      t.step(record, { type: "receiver-declined", participant, name });
    } else if (body.op === "cancel") {
      t.step(record, { type: "receiver-cancelled", participant, name });
    } else if (body.op === "done") {
      t.step(record, { type: "receiver-done", participant, name });
    }
  }
}

/**
 * @param {TransferRecord} record
 * @param {string} participant
 */
function mayReceive(record, participant) {
  return record.to === null || record.to === participant;
}

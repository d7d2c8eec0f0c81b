// The receiving side of the transfer engine: offers, accept/decline, choosing the path
// (a data channel to the sender, else the server's copy: transfer-download.js), taking
// blocks in (transfer-receive.js), checkpoints for a reload, the final root check.
// State changes go through the machine (transfer-machine.js) by `engine.step`.

import { Checkpoints } from "./transfer-checkpoint.js";
import { sendControl } from "./transfer-control.js";
import { downloadFromServer, moveIfLinked } from "./transfer-download.js";
import { fileKeyOf } from "./transfer-e2e.js";
import { detailOf } from "./transfer-live.js";
import { FINAL } from "./transfer-machine.js";
import { BlockReceiver } from "./transfer-receive.js";
import { incomingRecord } from "./transfer-records.js";
import { decodeControl, decodeData, encodeControl, labelOf, splitHashes } from "./transfer-wire.js";

/** @typedef {import("./transfer.js").Transfers} Transfers */
/** @typedef {import("./transfer-live.js").Live} Live */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */
/** @typedef {import("./transfer-wire.js").ChannelLike} ChannelLike */

const MAX_BAD_PER_BLOCK = 3;
const NO_FILE_RETRY_MS = 30_000;
export const WRONG_PEER_MS = 30_000;

export class IncomingSide {
  /** @param {Transfers} engine */
  constructor(engine) {
    this.t = engine;
    this.checkpoints = new Checkpoints(engine);
  }

  /** @param {string} id */
  async accept(id) {
    const t = this.t;
    const record = t._records.get(id);
    if (record?.direction !== "in" || !t.step(record, { type: "accept" })) return;
    const free = await t._partials.free?.().catch(() => null);
    if (typeof free === "number" && free < record.size)
      return t._fail(record, { code: "no-space", needed: record.size, free });
    if (!(await this._openReceiverOrFail(record))) return;
    sendControl(t, record, { op: "accept", have: record.have });
    t._commit(record); // also starts the stall watchdog's clock for it
    this.pursue(id);
  }

  /** After a reload: open the stored blocks again and ask to resume. @param {TransferRecord} record */
  async resume(record) {
    if (!(await this._openReceiverOrFail(record))) return;
    sendControl(this.t, record, { op: "accept", have: record.have });
    this.pursue(record.id);
  }

  /** @param {TransferRecord} record */
  async _openReceiverOrFail(record) {
    try {
      await this._openReceiver(record);
      return true;
    } catch (err) {
      this.t._fail(record, { code: "cannot-store", detail: detailOf(err) });
      return false;
    }
  }

  /** @param {TransferRecord} record */
  async _openReceiver(record) {
    const live = this.t._liveOf(record.id);
    if (live.receiver) return;
    const fileKey = await fileKeyOf(record);
    const writer = await this.t._partials.open(record.id, record.size);
    live.writer = writer;
    live.receiver = new BlockReceiver({
      size: record.size,
      root: /** @type {string} */ (record.root),
      writer,
      hashes: record.hashes,
      have: record.have,
      stored: record.stored,
      fileKey,
    });
    if (live.receiver.complete) void this.finish(record);
  }

  /**
   * Get the bytes by the best way open now: a direct channel to the sender, else the
   * server's copy; else wait (peers events and `uploaded` call this again).
   * @param {string} id
   */
  pursue(id) {
    const t = this.t;
    const record = t._records.get(id);
    const live = t._live.get(id);
    if (!record || !live?.receiver || t._closed) return;
    if (FINAL.includes(record.state) || record.state === "verifying" || live.channel || live.download) return;
    if (live.receiver.complete) return void this.finish(record);
    if (record.fileId) {
      live.downloading = downloadFromServer(this, record);
      return;
    }
    // The sender's tab said it has no file: it offers again once it has; ask rarely meanwhile.
    const wait = live.noFileUntil - t._clock.now();
    if (wait > 0) return this.retryLater(record, wait);
    const peerId = this._senderPeer(record);
    if (peerId) return this._openChannel(record, peerId);
    t._setNote(live, { code: "waiting-sender", name: record.senderName });
  }

  /**
   * A peer id of the sender with an open direct link (the one named in the offer first).
   * @param {TransferRecord} record
   * @param {Set<string>} [except]  not these
   * @returns {string | null}
   */
  _senderPeer(record, except = new Set()) {
    const t = this.t;
    const live = t._liveOf(record.id);
    const open = this.linkedSenderPeers(record).filter(
      (id) => !except.has(id) && (live.wrongPeers.get(id) ?? 0) <= t._clock.now(),
    );
    return open.includes(record.offerPeer ?? "") ? record.offerPeer : (open[0] ?? null);
  }

  /**
   * Peer ids of the sender's tabs with an open direct (or TURN) link.
   * @param {TransferRecord} record
   * @returns {string[]}
   */
  linkedSenderPeers(record) {
    return [...this.t.room.peers.values()]
      .filter((v) => v.participant_id === record.sender && (v.path === "direct" || v.path === "turn"))
      .map((v) => v.peer_id);
  }

  /**
   * @param {TransferRecord} record
   * @param {string} peerId
   */
  _openChannel(record, peerId) {
    const t = this.t;
    const live = t._liveOf(record.id);
    const channel = t.room.openDataChannel(peerId, labelOf(record.id));
    if (!channel) return this.retryLater(record);
    channel.binaryType = "arraybuffer";
    live.channel = channel;
    live.channelPeer = peerId;
    let heard = false;
    let opened = false;
    channel.addEventListener("open", () => {
      opened = true;
      const receiver = /** @type {BlockReceiver} */ (live.receiver);
      channel.send(encodeControl({ t: "want", from: receiver.have, hashes: receiver.wantsHashes }));
      live.path = t._pathOf(peerId);
    });
    channel.addEventListener("message", (ev) => {
      heard = true;
      const data = /** @type {MessageEvent} */ (ev).data;
      live.queue = live.queue
        .then(() => this._onFrame(record, channel, data))
        .catch((err) => {
          t._fail(record, { code: "store-failed", detail: detailOf(err) });
        });
    });
    channel.addEventListener("close", () => {
      // Opened and closed at once by a peer whose link is still up: a tab of the sender
      // that does not have this transfer. Try the sender's other tabs next time.
      const linked = ["direct", "turn"].includes(t.room.peers.get(peerId)?.path ?? "");
      if (opened && !heard && linked) live.wrongPeers.set(peerId, t._clock.now() + WRONG_PEER_MS);
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
    const t = this.t;
    const live = t._liveOf(record.id);
    const receiver = live.receiver;
    if (!receiver || live.channel !== channel || FINAL.includes(record.state)) return;
    const control = typeof data === "string" ? decodeControl(data) : null;
    // Bytes (or hashes) flow: only now "receiving", so a refusal does not flicker.
    if (control?.t !== "nofile") {
      live.noFile = false;
      if (record.state === "waiting") t.step(record, { type: "bytes-flowing" });
    }
    if (data instanceof ArrayBuffer) {
      const frame = decodeData(data);
      if (!frame) return;
      live.bytesReceived += frame.bytes.length;
      t._sample(live, live.bytesReceived);
      const result = await receiver.ingest(frame.block, frame.offset, frame.bytes);
      return this.afterIngest(
        record,
        result,
        (msg) => channel.readyState === "open" && channel.send(encodeControl(msg)),
      );
    }
    if (control?.t === "hashes") {
      live.wrongPeers.clear();
      if (!(await receiver.addHashes(control.from, splitHashes(control.hashes))))
        t._fail(record, { code: "offer-mismatch" });
    } else if (control?.t === "end" && !receiver.complete) {
      receiver.dropPartial();
      channel.send(encodeControl({ t: "want", from: receiver.have, hashes: receiver.wantsHashes }));
    } else if (control?.t === "nofile") {
      live.noFileUntil = t._clock.now() + NO_FILE_RETRY_MS;
      live.noFile = true;
      t._setNote(live, { code: "waiting-pick", name: record.senderName });
    }
  }

  /**
   * Bookkeeping after a piece was taken in: acknowledge, re-request, checkpoint, finish.
   * @param {TransferRecord} record
   * @param {import("./transfer-receive.js").IngestResult} result
   * @param {(msg: import("./transfer-wire.js").ControlFrame) => unknown} reply
   */
  async afterIngest(record, result, reply) {
    const live = this.t._liveOf(record.id);
    const receiver = /** @type {BlockReceiver} */ (live.receiver);
    if (result.kind === "bad") {
      live.blocksBad += 1;
      if ((receiver.badCounts.get(result.block) ?? 0) > MAX_BAD_PER_BLOCK)
        return this.t._fail(record, { code: "keeps-damaged" });
      reply({ t: "bad", block: result.block });
      return;
    }
    if (result.kind === "known") {
      reply({ t: "ok", block: result.block });
      return;
    }
    if (result.kind !== "verified") return;
    reply({ t: "ok", block: result.block });
    if (receiver.complete) return this.finish(record);
    this.checkpoints.soon(record, live);
    this.t._changed();
  }

  /**
   * @param {TransferRecord} record
   * @param {ChannelLike} channel
   */
  _channelClosed(record, channel) {
    const live = this.t._liveOf(record.id);
    if (live.channel !== channel) return;
    live.channel = null;
    live.receiver?.dropPartial();
    this.t.step(record, { type: "channel-closed" });
  }

  /**
   * @param {TransferRecord} record
   * @param {number} [ms]
   */
  retryLater(record, ms = this.t._retryMs) {
    const t = this.t;
    const live = t._liveOf(record.id);
    t._clock.clearTimeout(live.retryTimer);
    live.retryTimer = t._clock.setTimeout(() => {
      live.retryTimer = null;
      this.pursue(record.id);
    }, ms);
  }

  onPeers() {
    for (const [id, record] of this.t._records) {
      if (record.direction !== "in" || !record.accepted || FINAL.includes(record.state)) continue;
      moveIfLinked(this, record);
      this.pursue(id);
    }
  }

  /**
   * Every block is in: check the root, then done (or start over / fail).
   * @param {TransferRecord} record
   */
  async finish(record) {
    const t = this.t;
    const live = t._liveOf(record.id);
    const receiver = live.receiver;
    if (!receiver || !t.step(record, { type: "all-blocks" })) return;
    await live.checkpointing; // its record must not land after the final one
    t._commit(record);
    const good = await receiver.verifyRoot();
    if (!good) {
      if (receiver.hashes || receiver.fileKey || live.rootRetries++ > 0)
        return t._fail(record, { code: "integrity-failed" });
      receiver.reset(); // a server download without the hash list: once more from scratch
      t.step(record, { type: "root-mismatch" });
      return;
    }
    await live.writer?.flush();
    await live.writer?.close();
    live.writer = null;
    t.step(record, { type: "verified" });
  }

  /**
   * Retry of a stalled incoming transfer: drop the channel or download it was on, keep
   * the verified blocks, and accept again (the sender arms its fallback once more); a
   * server copy is taken at once, a stalled direct link is left alone for a while so the
   * sender's fallback can put the file on the server.
   * @param {TransferRecord} record
   * @param {Live} live
   */
  retry(record, live) {
    const t = this.t;
    const channel = live.channel;
    if (channel) {
      if (live.channelPeer) live.wrongPeers.set(live.channelPeer, t._clock.now() + WRONG_PEER_MS);
      live.channel = null;
      live.receiver?.dropPartial();
      channel.close();
    }
    // An aborted download still has a piece on its way into the receiver: the next path
    // starts once it has stopped, so the two never feed the same block.
    const downloading = live.download ? live.downloading : null;
    live.movingTo = null;
    live.download?.abort();
    live.receiver?.dropPartial();
    live.noFileUntil = 0;
    live.noFile = false;
    t._clock.clearTimeout(live.retryTimer);
    live.retryTimer = null;
    t.step(record, { type: "retry" });
    const pursue = () => this.pursue(record.id);
    if (downloading) void downloading.then(pursue, pursue);
    else pursue();
  }

  // ---- control messages from the sender -------------------------------------------------

  /**
   * @param {{sender: string, sender_name: string}} msg
   * @param {string} id
   * @param {Record<string, unknown>} body
   * @param {string} me
   */
  offered(msg, id, body, me) {
    const t = this.t;
    const record = incomingRecord({
      id,
      room: t.room.id,
      now: t._clock.now(),
      me,
      sender: msg.sender,
      senderName: msg.sender_name,
      body,
      nameOf: (participant) => t._nameOf(participant),
    });
    if (!record) return;
    t._records.set(id, record);
    t._commit(record);
  }

  /**
   * The sender offers a known transfer again (it picked the file again after a reload):
   * a receiver waiting for it tries at once, on the tab named now.
   * @param {TransferRecord} record  incoming
   * @param {Record<string, unknown>} body
   */
  offeredAgain(record, body) {
    const t = this.t;
    if (record.dismissed || body.root !== record.root) return;
    if (typeof body.peer === "string") record.offerPeer = body.peer;
    const live = t._liveOf(record.id);
    live.wrongPeers.clear();
    live.noFileUntil = 0;
    live.noFile = false;
    if (record.accepted && !FINAL.includes(record.state) && !live.channel) {
      t._clock.clearTimeout(live.retryTimer);
      this.pursue(record.id);
    }
  }

  /**
   * @param {TransferRecord} record  incoming
   * @param {Record<string, unknown>} body
   */
  fromSender(record, body) {
    const t = this.t;
    if (body.op === "cancel") {
      t.step(record, { type: "peer-cancel" });
    } else if (body.op === "uploaded" && typeof body.file_id === "string" && body.file_id) {
      record.fileId = body.file_id;
      t._save(record);
      // A working channel keeps going; otherwise (none, or a stalled one) the server's
      // copy is the way now.
      const live = t._liveOf(record.id);
      if (live.stalled && t._watched(record, live)) t.retry(record.id);
      else if (!live.channel) this.pursue(record.id);
    }
  }
}

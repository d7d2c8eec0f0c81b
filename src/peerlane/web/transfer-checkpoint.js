// Receiver checkpoints: the verified prefix of a file is made durable in OPFS, then
// recorded in its manifest (have, and the blocks' hashes), so a reload resumes from it:
// at most every CHECKPOINT_MS while blocks come, at once when a channel closes or a
// download ends, one at a time, and never ahead of the flush.

import { debug } from "./debug.js";
import { FINAL } from "./transfer-machine.js";
import { persisted } from "./transfer-records.js";

/** @typedef {import("./transfer.js").Transfers} Transfers */
/** @typedef {import("./transfer-live.js").Live} Live */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */

const CHECKPOINT_MS = 1_000;

export class Checkpoints {
  /** @param {Transfers} engine */
  constructor(engine) {
    this.t = engine;
  }

  /**
   * Record progress at most every CHECKPOINT_MS: at once when the last checkpoint is that
   * old, else when it will be (so the last blocks before a pause are recorded too). A
   * checkpoint is an OPFS flush and an IndexedDB write, too much for every block.
   * @param {TransferRecord} record
   * @param {Live} live
   */
  soon(record, live) {
    const t = this.t;
    if (live.checkpointTimer !== null) return;
    const wait = live.checkpointAt + CHECKPOINT_MS - t._clock.now();
    if (wait <= 0) return void this.now(record);
    live.checkpointTimer = t._clock.setTimeout(() => {
      live.checkpointTimer = null;
      if (!t._closed) void this.now(record);
    }, wait);
  }

  /**
   * Make the verified prefix durable, then record it (never the other way round). One at
   * a time; a request meanwhile runs once more after it.
   * @param {TransferRecord} record
   */
  async now(record) {
    const live = this.t._liveOf(record.id);
    this.t._clock.clearTimeout(live.checkpointTimer);
    live.checkpointTimer = null;
    if (live.checkpointing) {
      live.checkpointAgain = true;
      return live.checkpointing;
    }
    live.checkpointing = (async () => {
      do {
        live.checkpointAgain = false;
        await this._once(record, live);
      } while (live.checkpointAgain);
    })()
      .catch((err) => debug("transfer", "checkpoint failed", err))
      .finally(() => {
        live.checkpointing = null;
      });
    return live.checkpointing;
  }

  /**
   * @param {TransferRecord} record
   * @param {Live} live
   */
  async _once(record, live) {
    const manifests = this.t._manifests;
    const receiver = live.receiver;
    const writer = live.writer;
    if (!receiver || !writer || FINAL.includes(record.state)) return;
    live.checkpointAt = this.t._clock.now();
    const have = receiver.have;
    const newHashes = receiver.hashes && !record.hashes;
    await writer.flush();
    if (receiver.hashes) {
      record.hashes = receiver.hashes;
      if (newHashes) await this.t._saveHashes(record);
    } else {
      record.stored = receiver.storedHashes().slice(0, have);
      await manifests.put({ id: `${record.id}/stored`, room: "", stored: record.stored });
    }
    if (live.receiver !== receiver || FINAL.includes(record.state)) return;
    record.have = have;
    await manifests.put(persisted(record));
  }
}

// The stall watchdog. A transfer that should be moving bytes and has moved none for
// stallMs shows "stalled" and offers retry(): whatever went wrong (a lost accept, a
// frozen channel, an upload that hangs), the person sees it and can start it again on
// some path. Bytes moving again clear it by themselves (progressed()). "stalled" is a
// flag of the runtime state, never a stored state: a reload starts the count again.

import { debug } from "./debug.js";

/** @typedef {import("./transfer.js").Transfers} Transfers */
/** @typedef {import("./transfer-live.js").Live} Live */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */

/** No bytes for this long on a transfer that should be moving: "stalled", with a Retry. */
export const DEFAULT_STALL_MS = 30_000;

export class StallWatchdog {
  /**
   * @param {Transfers} engine
   * @param {number | null} stallMs
   */
  constructor(engine, stallMs) {
    this.t = engine;
    this.stallMs = stallMs ?? DEFAULT_STALL_MS;
    /** Armed while any transfer is watched. @type {unknown} */
    this.timer = null;
  }

  /**
   * Whether a transfer should be moving bytes now. Not: waiting for a person (offered,
   * needs-file, an unaccepted offer, a sender's tab without the file), checking the
   * root, finished, or a sender whose server copy is complete and who serves no channel
   * (the receivers download it).
   * @param {TransferRecord} record
   * @param {Live} live
   */
  watched(record, live) {
    if (record.dismissed) return false;
    if (record.direction === "in")
      return record.accepted && !live.noFile && (record.state === "waiting" || record.state === "receiving");
    return record.state === "sending" && (live.sessions.size > 0 || !record.fileId);
  }

  /**
   * Start watching a transfer (its clock starts now) and make sure the check runs.
   * @param {TransferRecord} record
   */
  watch(record) {
    const live = this.t._liveOf(record.id);
    if (!this.watched(record, live)) {
      live.progressAt = null;
      live.stalled = false;
      return;
    }
    live.progressAt ??= this.t._clock.now();
    this.arm();
  }

  /** Bytes moved. @param {Live} live */
  progressed(live) {
    live.progressAt = this.t._clock.now();
    live.stalled = false;
  }

  arm() {
    if (this.timer !== null || this.t._closed) return;
    // Checked a few times per stallMs: a stall shows between stallMs and 1.2 × stallMs.
    this.timer = this.t._clock.setTimeout(() => this._check(), Math.max(1, this.stallMs / 5));
  }

  close() {
    this.t._clock.clearTimeout(this.timer);
  }

  _check() {
    this.timer = null;
    const t = this.t;
    if (t._closed) return;
    const now = t._clock.now();
    let watching = false;
    for (const [id, record] of t._records) {
      const live = t._liveOf(id);
      if (!this.watched(record, live)) {
        live.progressAt = null;
        live.stalled = false;
        continue;
      }
      watching = true;
      live.progressAt ??= now;
      if (!live.stalled && now - live.progressAt >= this.stallMs) {
        live.stalled = true;
        debug("transfer", "stalled", id, record.direction, record.state);
        t._changed();
      }
    }
    if (watching) this.arm();
  }
}

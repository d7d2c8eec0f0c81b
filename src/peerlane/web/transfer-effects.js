// The engine performs the state machine's effects (transfer-machine.js → Effect): each
// one is an I/O step on the transfer's channels, storage, timers or control messages.

import { sendControl } from "./transfer-control.js";
import { moveToChannel } from "./transfer-download.js";

/** @typedef {import("./transfer.js").Transfers} Transfers */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */
/** @typedef {import("./transfer-machine.js").Effect} Effect */
/** @typedef {import("./transfer-live.js").Live} Live */

/**
 * @param {Transfers} t
 * @param {TransferRecord} record
 * @param {Effect} effect
 */
export function perform(t, record, effect) {
  const live = t._liveOf(record.id);
  switch (effect.type) {
    case "note":
      return void t._setNote(live, effect.note);
    case "note-if-none":
      live.note ??= effect.note;
      return;
    case "control":
      if (effect.op === "accept")
        return sendControl(t, record, { op: "accept", have: live.receiver?.have ?? record.have });
      if (effect.op === "uploaded") return sendControl(t, record, { op: "uploaded", file_id: record.fileId });
      return sendControl(t, record, { op: effect.op });
    case "stop":
      return t._stop(record);
    case "remove-partial":
      return void t._partials.remove(record.id).catch(() => {});
    case "drop-hashes":
      return t._dropHashes(record.id);
    case "terminate-upload":
      return void t._terminate(/** @type {string} */ (record.uploadUrl), { fetch: t._fetch }).catch(() => {});
    case "resume":
      return void t._in.resume(record);
    case "pursue":
      return t._in.pursue(record.id);
    case "move-to-channel":
      return moveToChannel(t._in, record, effect.peerId);
    case "retry-later":
      return t._in.retryLater(record);
    case "checkpoint":
      return void t._in.checkpoints.now(record);
    case "stop-checkpoints":
      t._clock.clearTimeout(live.checkpointTimer);
      live.checkpointTimer = null;
      return;
    case "close-channel":
      return live.channel?.close();
    case "arm-fallback":
      return t._out.armFallback(record, effect.participant);
    case "clear-fallback":
      t._clock.clearTimeout(live.fallbackTimers.get(effect.participant));
      live.fallbackTimers.delete(effect.participant);
      return;
    case "close-session":
      live.sessions.get(effect.participant)?.session.close();
      live.sessions.delete(effect.participant);
      return;
    case "commit":
      return t._commit(record);
  }
}

/**
 * Stop moving bytes for a transfer: hashing, upload, download, sessions, channel, timers,
 * storage writer (its verified blocks stay where they are).
 * @param {Transfers} t
 * @param {Live} live
 */
export function stopMoving(t, live) {
  live.hashing?.abort();
  live.upload?.abort();
  live.movingTo = null;
  live.download?.abort();
  for (const { session } of live.sessions.values()) session.close();
  live.sessions.clear();
  for (const timer of live.fallbackTimers.values()) t._clock.clearTimeout(timer);
  live.fallbackTimers.clear();
  t._clock.clearTimeout(live.retryTimer);
  t._clock.clearTimeout(live.checkpointTimer);
  live.checkpointTimer = null;
  const channel = live.channel;
  live.channel = null;
  channel?.close();
  void live.writer?.close().catch(() => {});
  live.writer = null;
  live.receiver = null;
}

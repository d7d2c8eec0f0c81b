// The transfer state machine: pure, no DOM, timers or network (docs/file-transfer.md →
// "State machine"). `step(record, event)` → `{record, effects, refused}`: the next
// record (a new object; the input is never changed) and what the engine must do, in
// order. Every change of a transfer's `state` (and of a receiver's, on the sending side)
// is made here; the engine (transfer.js and its sides) only performs effects.
//
// The tables below are the whole protocol of states: a row per state, a column per
// event, and the state it leads to. An event missing from a state's row is refused: the
// record stays as it is and nothing happens (a late frame, a second cancel, a click on a
// button that is already gone). "=" keeps the state (other fields or effects may change);
// "*" is the sending side's derived state: what its receivers' states add up to (derive()).
//
// "stalled" is not a state here: it is how the view shows a waiting/sending/receiving
// transfer that moved no bytes for a while (the engine's watchdog), never stored.

import { BLOCK_SIZE } from "./integrity.js";

/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */
/** @typedef {import("./transfer-records.js").TransferState} TransferState */
/** @typedef {import("./transfer-records.js").ReceiverState} ReceiverState */
/** @typedef {import("./transfer-records.js").TransferNote} TransferNote */

/** Incoming (receiver) transfers: state × event → next state. */
// biome-ignore format: a transition table reads best as a table, one state per line
export const INCOMING = Object.freeze({
  offered: { accept: "waiting", decline: "declined", cancel: "cancelled", "peer-cancel": "cancelled", fail: "failed" },
  waiting: {
    restore: "waiting", "bytes-flowing": "receiving", "download-started": "receiving", "channel-closed": "waiting",
    "all-blocks": "verifying", retry: "waiting", cancel: "cancelled", "peer-cancel": "cancelled", fail: "failed",
  },
  receiving: {
    restore: "waiting", "download-started": "receiving", "channel-closed": "waiting", "link-opened": "=",
    "all-blocks": "verifying", retry: "waiting", cancel: "cancelled", "peer-cancel": "cancelled", fail: "failed",
  },
  verifying: {
    restore: "waiting", "root-mismatch": "waiting", verified: "done",
    cancel: "cancelled", "peer-cancel": "cancelled", fail: "failed",
  },
  done: {},
  declined: {},
  cancelled: {},
  failed: {},
});

/** Outgoing (sender) transfers: state × event → next state ("*": derive()). */
// biome-ignore format: a transition table reads best as a table, one state per line
export const OUTGOING = Object.freeze({
  waiting: {
    restore: "needs-file", "receiver-accept": "*", "receiver-served": "*", "receiver-lost": "*", "receiver-done": "*",
    "receiver-declined": "*", "receiver-cancelled": "*", uploaded: "*", recheck: "*", cancel: "cancelled", fail: "failed",
  },
  sending: {
    restore: "needs-file", "receiver-accept": "*", "receiver-served": "*", "receiver-lost": "*", "receiver-done": "*",
    "receiver-declined": "*", "receiver-cancelled": "*", uploaded: "*", recheck: "*", cancel: "cancelled", fail: "failed",
  },
  // "done" still serves: someone may accept an offer to everyone later.
  done: {
    "receiver-accept": "*", "receiver-served": "*", "receiver-lost": "*", "receiver-done": "*",
    "receiver-declined": "*", "receiver-cancelled": "*", uploaded: "*", recheck: "*",
  },
  "needs-file": {
    restore: "needs-file", "file-picked": "waiting", "receiver-accept": "=", "receiver-lost": "=", "receiver-done": "=",
    "receiver-declined": "=", "receiver-cancelled": "=", uploaded: "=", recheck: "=", cancel: "cancelled", fail: "failed",
  },
  declined: {},
  cancelled: {},
  failed: {},
});

/** States that are over ("done" still serves a late receiver of an offer to everyone). */
export const FINAL = /** @type {readonly TransferState[]} */ (["done", "declined", "cancelled", "failed"]);
/** Final and never served again. */
export const OVER = /** @type {readonly TransferState[]} */ (["declined", "cancelled", "failed"]);

/**
 * What happens to a transfer. `participant`: the receiver an outgoing event is about.
 * @typedef {(
 *   {type: "restore"} | {type: "accept"} | {type: "decline"} | {type: "cancel"} | {type: "peer-cancel"}
 *   | {type: "fail", error: TransferNote}
 *   | {type: "bytes-flowing"} | {type: "download-started"} | {type: "channel-closed"}
 *   | {type: "link-opened", peerId: string}
 *   | {type: "all-blocks"} | {type: "root-mismatch"} | {type: "verified"} | {type: "retry"}
 *   | {type: "file-picked", root: string, hashes: string[]}
 *   | {type: "receiver-accept", participant: string, name: string, have: number, hasFile: boolean}
 *   | {type: "receiver-served", participant: string, name: string}
 *   | {type: "receiver-lost", participant: string}
 *   | {type: "receiver-done", participant: string, name: string}
 *   | {type: "receiver-declined", participant: string, name: string}
 *   | {type: "receiver-cancelled", participant: string, name: string}
 *   | {type: "uploaded", fileId: string}
 *   | {type: "recheck"}
 * )} TransferEvent
 */

/**
 * What the engine does after a step, in this order.
 * @typedef {(
 *   {type: "note", note: TransferNote | null}      // the view's note now
 *   | {type: "note-if-none", note: TransferNote}    // … unless it already has one
 *   | {type: "control", op: string}                 // a control message (chat kind "file"); "accept" carries {have}
 *   | {type: "stop"}                                // stop moving bytes (channels, upload, download, timers)
 *   | {type: "remove-partial"} | {type: "drop-hashes"} | {type: "terminate-upload"}
 *   | {type: "resume"}                              // receiver after a reload: open storage, accept {have} again
 *   | {type: "pursue"} | {type: "retry-later"}      // receiver: get the bytes by the best way now / soon
 *   | {type: "move-to-channel", peerId: string}     // receiver: end the download at a block boundary, go on over a channel
 *   | {type: "checkpoint"} | {type: "stop-checkpoints"} | {type: "close-channel"}
 *   | {type: "arm-fallback", participant: string} | {type: "clear-fallback", participant: string}
 *   | {type: "close-session", participant: string}
 *   | {type: "commit"}                              // save the record, watch it, tell the UI
 * )} Effect
 */

/**
 * One transition. Pure: the input record is not changed.
 * @param {TransferRecord} record
 * @param {TransferEvent} event
 * @returns {{record: TransferRecord, effects: Effect[], refused: boolean}}
 */
export function step(record, event) {
  const table = record.direction === "in" ? INCOMING : OUTGOING;
  const row = /** @type {Record<string, string>} */ (table[/** @type {keyof typeof table} */ (record.state)] ?? {});
  const target = row[event.type];
  if (target === undefined || !guard(record, event)) return { record, effects: [], refused: true };
  const next = { ...record, receivers: { ...record.receivers } };
  if (target !== "*" && target !== "=") next.state = /** @type {TransferState} */ (target);
  const effects = (record.direction === "in" ? incomingEffects : outgoingEffects)(record, next, event);
  if (target === "*") effects.push(...derive(next));
  else if (target === "=") effects.push({ type: "commit" });
  return { record: next, effects, refused: false };
}

/**
 * Conditions beyond the table.
 * @param {TransferRecord} record
 * @param {TransferEvent} event
 */
function guard(record, event) {
  // After a reload only an accepted transfer resumes; an outgoing one with a complete
  // server copy keeps serving from it.
  if (event.type === "restore") return record.direction === "in" ? record.accepted : !record.fileId;
  // Only a transfer on the server path (a download of the server's copy) moves.
  if (event.type === "link-opened") return record.fileId !== null;
  if (
    event.type === "receiver-accept" ||
    event.type === "receiver-done" ||
    event.type === "receiver-declined" ||
    event.type === "receiver-cancelled"
  ) {
    // A receiver that verified the whole file stays done.
    return record.receivers[event.participant]?.state !== "done";
  }
  return true;
}

/**
 * @param {TransferRecord} _before  (the same signature as outgoingEffects)
 * @param {TransferRecord} next  (changed here)
 * @param {TransferEvent} event
 * @returns {Effect[]}
 */
function incomingEffects(_before, next, event) {
  switch (event.type) {
    case "restore":
      return [{ type: "resume" }];
    case "accept":
      next.accepted = true;
      return [{ type: "note", note: { code: "connecting" } }];
    case "decline":
      return [{ type: "control", op: "decline" }, { type: "commit" }];
    case "bytes-flowing":
      return [{ type: "note", note: null }, { type: "commit" }];
    case "download-started":
      return [{ type: "note", note: { code: "downloading" } }, { type: "commit" }];
    case "link-opened":
      return [
        { type: "note", note: null },
        { type: "move-to-channel", peerId: event.peerId },
      ];
    case "channel-closed":
      return [
        { type: "note-if-none", note: { code: "reconnecting" } },
        { type: "checkpoint" },
        { type: "commit" },
        { type: next.fileId ? "pursue" : "retry-later" },
      ];
    case "all-blocks":
      return [{ type: "stop-checkpoints" }, { type: "note", note: { code: "checking" } }];
    case "root-mismatch":
      Object.assign(next, { have: 0, stored: [] });
      return [{ type: "pursue" }];
    case "verified":
      Object.assign(next, { have: next.blocks, stored: [], hashes: null });
      return [
        { type: "drop-hashes" },
        { type: "note", note: null },
        { type: "close-channel" },
        { type: "control", op: "done" },
        { type: "commit" },
      ];
    case "retry":
      return [{ type: "note", note: { code: "trying-again" } }, { type: "control", op: "accept" }, { type: "commit" }];
    case "cancel":
      return [
        { type: "stop" },
        { type: "control", op: "cancel" },
        { type: "remove-partial" },
        { type: "drop-hashes" },
        { type: "commit" },
      ];
    case "peer-cancel":
      return [{ type: "stop" }, { type: "remove-partial" }, { type: "commit" }];
    case "fail":
      next.error = event.error;
      return [{ type: "stop" }, { type: "commit" }];
    default:
      return [];
  }
}

/**
 * @param {TransferRecord} before
 * @param {TransferRecord} next  (changed here)
 * @param {TransferEvent} event
 * @returns {Effect[]}
 */
function outgoingEffects(before, next, event) {
  const receivers = next.receivers;
  switch (event.type) {
    case "restore":
      return [];
    case "file-picked":
      Object.assign(next, { root: event.root, hashes: event.hashes, error: null });
      return [];
    case "receiver-accept": {
      const was = receivers[event.participant];
      receivers[event.participant] = {
        name: event.name,
        state: was?.state === "sending" ? "sending" : "waiting",
        have: event.have,
      };
      // A late accept of an offer to everyone that is "done" for the others needs a path
      // again; after a reload of this page there is no File to serve it from.
      if (before.state === "done" && !event.hasFile && !before.fileId) {
        next.state = "needs-file";
        return [];
      }
      return before.state === "needs-file" ? [] : [{ type: "arm-fallback", participant: event.participant }];
    }
    case "receiver-served": {
      const was = receivers[event.participant] ?? { name: event.name, state: "waiting", have: 0 };
      receivers[event.participant] = { ...was, state: "sending" };
      return [{ type: "note", note: null }];
    }
    case "receiver-lost": {
      const was = receivers[event.participant];
      if (was?.state !== "sending") return [];
      receivers[event.participant] = { ...was, state: "waiting" };
      return [
        { type: "note", note: { code: "reconnecting" } },
        { type: "arm-fallback", participant: event.participant },
      ];
    }
    case "receiver-done": {
      const was = receivers[event.participant] ?? { name: event.name, state: "waiting", have: 0 };
      receivers[event.participant] = { ...was, state: "done", have: next.blocks };
      return [{ type: "clear-fallback", participant: event.participant }];
    }
    case "receiver-declined":
    case "receiver-cancelled": {
      const have = receivers[event.participant]?.have ?? 0;
      receivers[event.participant] = {
        name: event.name,
        state: event.type === "receiver-declined" ? "declined" : "cancelled",
        have,
      };
      return [
        { type: "close-session", participant: event.participant },
        { type: "clear-fallback", participant: event.participant },
      ];
    }
    case "uploaded":
      next.fileId = event.fileId;
      return [
        { type: "note", note: waitingNote(next) },
        { type: "control", op: "uploaded" },
      ];
    case "cancel":
      return [
        { type: "stop" },
        ...(before.root !== null ? /** @type {Effect[]} */ ([{ type: "control", op: "cancel" }]) : []),
        ...(before.uploadUrl ? /** @type {Effect[]} */ ([{ type: "terminate-upload" }]) : []),
        { type: "commit" },
      ];
    case "fail":
      next.error = event.error;
      return [{ type: "stop" }, { type: "commit" }];
    default:
      return [];
  }
}

/**
 * The sending side's state follows its receivers: someone still to be served → sending;
 * else anyone done → done; else the one recipient's no → declined/cancelled; else waiting
 * (nobody accepted yet). Not while the file is still being hashed (root null) or gone.
 * @param {TransferRecord} next  (changed here)
 * @returns {Effect[]}
 */
export function derive(next) {
  if (next.state === "needs-file" || next.root === null) return [{ type: "commit" }];
  const states = Object.values(next.receivers).map((x) => x.state);
  /** @type {Effect[]} */
  const effects = [];
  if (states.some((s) => s === "sending" || s === "waiting")) {
    next.state = "sending";
    effects.push(
      states.includes("sending") ? { type: "note", note: null } : { type: "note-if-none", note: waitingNote(next) },
    );
  } else if (states.includes("done")) {
    next.state = "done";
  } else if (next.to !== null && states.includes("declined")) {
    next.state = "declined";
  } else if (next.to !== null && states.includes("cancelled")) {
    next.state = "cancelled";
  } else {
    next.state = "waiting";
  }
  effects.push({ type: "commit" });
  return effects;
}

/**
 * The sender's note while nobody is being served.
 * @param {TransferRecord} record
 * @returns {TransferNote}
 */
export function waitingNote(record) {
  return { code: "waiting-accept", name: record.to ? record.toName : null };
}

/** Bytes a receiver verified, for the sender's view. @param {TransferRecord} record @param {number} have */
export function verifiedBytes(record, have) {
  return Math.min(record.size, have * BLOCK_SIZE);
}

// Edits and deletions (chat kinds "edit" and "delete", ref = the target's seq) as the
// message log (chat-log.js) applies them: the server's copy of one changes its target
// (new words and `edited_at`, or none and `deleted_at`), and a deletion takes the words
// of the target's edits held here too. An own change not yet stored shows on its target
// at once (`pending`), and no longer once stored or refused. Changes count only from the
// server, never from a data channel, whose sender the server has not checked. Pure.

/** @typedef {import("./chat-log.js").ChatMessage} ChatMessage */

/**
 * The slice of the log a change needs.
 * @typedef {{bySeq: (seq: number) => ChatMessage | undefined, touched: (m: ChatMessage) => void,
 *   all: () => Iterable<ChatMessage>}} ChangeLog
 */

/**
 * What a message shows now: its own edit or deletion still on its way counts already
 * (also one waiting for the message's seq: afterAck).
 * @param {{body: unknown, edited_at?: number | null, deleted_at?: number | null,
 *   pending?: {kind?: string, body: unknown} | null, afterAck?: {kind: string} | null}} m
 *   a ChatMessage, or the UI's view of one
 * @returns {{body: unknown, deleted: boolean, edited: boolean}}
 */
export function shownBody(m) {
  const deleting = m.pending?.kind === "delete" || m.afterAck?.kind === "delete";
  if (m.deleted_at || deleting) return { body: null, deleted: true, edited: false };
  if (m.pending?.kind === "edit") return { body: m.pending.body, deleted: false, edited: true };
  return { body: m.body, deleted: false, edited: !!m.edited_at };
}

/**
 * An own edit or deletion not yet stored shows on its target at once.
 * @param {ChangeLog} log
 * @param {ChatMessage} change
 */
export function markPending(log, change) {
  if ((change.kind !== "edit" && change.kind !== "delete") || change.seq !== null || change.ref === null) return;
  if (change.state === "failed") return;
  const target = log.bySeq(change.ref);
  if (!target || target.sender !== change.sender) return;
  target.pending = change;
  log.touched(target);
}

/**
 * A pending change is over (stored, refused or taken back): its target shows what the
 * server says again.
 * @param {ChangeLog} log
 * @param {ChatMessage} change
 */
export function clearPending(log, change) {
  if (change.ref === null) return;
  const target = log.bySeq(change.ref);
  if (target?.pending !== change) return;
  target.pending = null;
  log.touched(target);
}

/**
 * An edit or a deletion the server stored changes its target, when the log holds it (an
 * older target fetched later comes from the server as it is now, already changed).
 * The server checked that the target is the sender's own; the sender is checked again
 * here so that a log fed anything else cannot be made to change another's words.
 * @param {ChangeLog} log
 * @param {ChatMessage} change
 */
export function applyChange(log, change) {
  if ((change.kind !== "edit" && change.kind !== "delete") || change.ref === null || change.seq === null) return;
  clearPending(log, change);
  const target = log.bySeq(change.ref);
  if (!target || target.sender !== change.sender) return;
  if (change.kind === "delete" || target.deleted_at) {
    // A deletion keeps nothing: nor the target's words, nor those of its edits held here.
    target.body = null;
    target.deleted_at ??= change.ts;
    target.pending = null;
    for (const m of log.all()) {
      if (m.kind === "edit" && m.ref === change.ref && m.sender === change.sender) m.body = null;
    }
  } else if ((target.edited_at ?? 0) <= (change.ts ?? 0)) {
    target.body = change.body;
    target.edited_at = change.ts;
  }
  log.touched(target);
}

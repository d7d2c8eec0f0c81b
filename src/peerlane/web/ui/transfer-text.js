// The file transfers in words: the engine gives states, notes and errors as codes with
// parameters (transfer-records.js → TransferNote); everything the UI says about a
// transfer is worded here, sizes with the client's one byte formatter (file-info.js).

import { formatBytes } from "./file-info.js";

/** @typedef {import("./types.js").TransferView} TransferView */
/** @typedef {import("./types.js").TransferNote} TransferNote */

/**
 * @param {TransferNote} n
 * @param {string} key
 */
const str = (n, key) => String(n[key] ?? "");

/** @type {Record<string, (n: TransferNote) => string>} */
const NOTES = {
  preparing: (n) => `Preparing… ${n.percent ?? 0} %`,
  checking: (n) => (n.percent == null ? "Checking the file…" : `Checking the file… ${n.percent} %`),
  "pick-again": () => "Pick the file again to go on",
  "waiting-accept": (n) =>
    n.offline && n.name
      ? `Waiting for ${n.name} to come online`
      : n.name
        ? `Waiting for ${n.name} to accept`
        : "Waiting for someone to accept",
  reconnecting: () => "Connection lost; reconnecting…",
  "via-server": () => "Sending through the server…",
  "server-unreachable": () => "Server unreachable; retrying…",
  connecting: () => "Connecting…",
  "waiting-sender": (n) => `Waiting for ${str(n, "name")} to connect…`,
  "waiting-pick": (n) => `Waiting for ${str(n, "name")} to pick the file again…`,
  downloading: () => "Downloading from the server…",
  "server-status": (n) => `The server answered ${str(n, "status")}; retrying…`,
  "trying-again": () => "Trying again…",
  stalled: (n) => `No progress for ${str(n, "seconds")} s`,
};

/** @type {Record<string, (n: TransferNote) => string>} */
const ERRORS = {
  "not-same-file": () =>
    "This is not the same file: its content differs from what was offered. Pick the original file.",
  "no-space": (n) =>
    `Not enough storage space in this browser for this file (${formatBytes(Number(n.needed))} needed, ${formatBytes(Number(n.free))} free).`,
  "cannot-store": (n) => `This browser cannot store the file: ${str(n, "detail")}`,
  "cannot-read": (n) => `Cannot read the file: ${str(n, "detail")}`,
  "upload-failed": (n) => `Could not send the file through the server: ${str(n, "detail")}`,
  "offer-mismatch": () => "The sender's file does not match its offer.",
  "keeps-damaged": () => "The sender's file keeps arriving damaged (was it changed while sending?).",
  "store-failed": (n) => `Could not store the file: ${str(n, "detail")}`,
  "server-copy-gone": () => "The file is no longer on the server.",
  "download-keeps-failing": () => "The download from the server keeps failing.",
  "download-failed": (n) => `The download from the server stopped: ${str(n, "detail")}`,
  "integrity-failed": () => "The file did not pass the integrity check.",
  // A record saved before errors were codes keeps its words.
  text: (n) => str(n, "text"),
};

/**
 * A note in words ("" for none).
 * @param {TransferNote | null | undefined} note
 */
export function noteText(note) {
  if (!note) return "";
  return NOTES[note.code]?.(note) ?? "";
}

/**
 * An error in words ("" for none); an unknown code still says something went wrong.
 * @param {TransferNote | null | undefined} error
 */
export function errorText(error) {
  if (!error) return "";
  return ERRORS[error.code]?.(error) ?? "Something went wrong with this transfer.";
}

/**
 * What a failed action says: a coded error (pickAgain's refusal) in words, else its message.
 * @param {unknown} err
 */
export function actionErrorText(err) {
  const code = /** @type {{code?: unknown} | null | undefined} */ (err)?.code;
  if (typeof code === "string" && ERRORS[code]) return errorText({ code });
  return err instanceof Error && err.message ? err.message : "That didn't work; try again.";
}

/**
 * @typedef {{name: string, online: boolean}} KnownPerson
 * @typedef {TransferView & {toOffline?: boolean}} NamedTransferView
 */

/**
 * An outgoing transfer to one person, with that person named from the room's roster
 * (the engine only knows the names of people it has reached, so an offer to someone
 * offline would read "to someone") and marked `toOffline` while they are away.
 * @param {TransferView} t
 * @param {(id: string) => KnownPerson | undefined} personOf the roster's word on an id
 * @returns {NamedTransferView}
 */
export function withRecipient(t, personOf) {
  if (t.direction !== "out" || !t.to) return t;
  const person = personOf(t.to);
  if (!person) return t;
  const toName = t.toName || person.name;
  const toOffline = !person.online;
  const note = t.note?.code === "waiting-accept" ? { ...t.note, name: toName, offline: toOffline ? 1 : 0 } : t.note;
  return { ...t, toName, toOffline, note };
}

/**
 * The state in words, when the engine gives no more precise note.
 * @param {NamedTransferView} t
 */
export function stateText(t) {
  const out = t.direction === "out";
  switch (t.state) {
    case "offered":
      return "Wants to send you this file";
    case "waiting":
      if (!out) return "Connecting…";
      if (t.toName && t.toOffline) return `Waiting for ${t.toName} to come online`;
      return t.toName ? `Waiting for ${t.toName} to accept` : "Waiting for someone to accept";
    case "sending":
      return "Sending";
    case "receiving":
      return "Receiving";
    case "verifying":
      return "Checking the file…";
    case "done":
      return out ? "Sent" : "Received and checked";
    case "declined":
      return out ? (t.toName ? `${t.toName} declined` : "Declined") : "You declined";
    case "cancelled":
      return "Cancelled";
    case "failed":
      return "Failed";
    case "needs-file":
      return "Paused: pick the file again to resume";
    case "stalled":
      return "Stalled: no progress";
    default:
      return t.state;
  }
}

/**
 * "From Alice", "From Alice to you", "From you to Bob", "From you to Dave (offline)",
 * "From you to everyone".
 * @param {NamedTransferView} t
 */
export function whoText(t) {
  if (t.direction === "out") {
    if (!t.to) return "From you to everyone";
    return `From you to ${t.toName || "one person"}${t.toOffline ? " (offline)" : ""}`;
  }
  return t.to ? `From ${t.senderName || "someone"} to you` : `From ${t.senderName || "someone"}`;
}

/**
 * The receivers of an outgoing offer to everyone, in short: "Bob ✓ · Carol 40 %".
 * @param {TransferView} t
 */
export function receiversText(t) {
  const list = t.receivers ?? [];
  if (t.direction !== "out" || t.to || !list.length) return "";
  return list
    .map((r) => {
      if (r.state === "done") return `${r.name} ✓`;
      if (r.state === "declined") return `${r.name} declined`;
      if (r.state === "failed") return `${r.name} failed`;
      if (r.state === "cancelled") return `${r.name} cancelled`;
      const pct = t.size ? Math.floor((100 * r.bytesDone) / t.size) : 0;
      return `${r.name} ${pct} %`;
    })
    .join(" · ");
}

/**
 * What a screen reader hears when a transfer reaches a moment that matters ("" for none).
 * @param {TransferView} t
 */
export function newsText(t) {
  if (t.direction === "in" && t.state === "offered")
    return `${t.senderName || "Someone"} wants to send you ${t.name} (${formatBytes(t.size)}).`;
  if (t.direction === "in" && t.state === "done") return `${t.name} received. Save it to keep it.`;
  if (t.direction === "out" && t.state === "done") return `${t.name} sent.`;
  if (t.state === "failed") return `${t.name} failed. ${errorText(t.error)}`;
  if (t.direction === "out" && t.state === "declined") return `${t.name} was declined.`;
  return "";
}

/**
 * "3.1 MB of 10.5 MB".
 * @param {TransferView} t
 */
export function amountText(t) {
  return `${formatBytes(t.bytesDone)} of ${formatBytes(t.size)}`;
}

/**
 * "Retry all" (the panel's head): start every stalled transfer again, e.g. after the page
 * comes back from the background with several stuck. The transfers it asked to retry.
 * @param {{list(): TransferView[], retry(id: string): unknown}} engine
 * @returns {string[]}
 */
export function retryStalled(engine) {
  const stalled = engine.list().filter((t) => t.state === "stalled");
  for (const t of stalled) engine.retry(t.id);
  return stalled.map((t) => t.id);
}

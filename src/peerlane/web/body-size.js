// How big a chat message is to the server, and what the composer says about it. The
// server limits a chat's body to `max_body_bytes` (from the welcome) counted as the UTF-8
// bytes of its compact JSON, so a text counts its quotes and escapes too: this counts
// the same way, so the composer's warning and the server's refusal agree. Pure (no DOM).

/** The composer starts to show how much room is left at this share of the limit. */
export const NEAR_LIMIT = 0.9;

const encoder = new TextEncoder();

/**
 * A chat body's size as the server counts it: UTF-8 bytes of its compact JSON.
 * @param {unknown} body
 * @returns {number}
 */
export function bodyBytes(body) {
  return encoder.encode(JSON.stringify(body) ?? "").length;
}

/**
 * A size in plain words ("900 bytes", "16 KB", "1.5 MB").
 * @param {number} bytes
 * @returns {string}
 */
export function sizeWords(bytes) {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * What the composer says about a text's length, and whether it may be sent.
 * @typedef {object} LengthNote
 * @property {"ok" | "near" | "over"} level
 * @property {number} bytes   the text's size as the server counts it
 * @property {string} text    plain words for people ("" when nothing needs saying)
 */

/**
 * @param {string} text   what the box holds
 * @param {number} limit  max_body_bytes (Infinity before the welcome)
 * @returns {LengthNote}
 */
export function lengthNote(text, limit) {
  if (!Number.isFinite(limit)) return { level: "ok", bytes: 0, text: "" };
  // Cheap first: one UTF-16 unit is at most 6 bytes of JSON (a control character's
  // \u escape; UTF-8 needs at most 3), so a short text needs no encoding per keystroke.
  if (text.length * 6 + 2 < limit * NEAR_LIMIT) return { level: "ok", bytes: 0, text: "" };
  const bytes = bodyBytes(text);
  if (bytes > limit) {
    return {
      level: "over",
      bytes,
      text: `Too long for one message (${sizeWords(bytes)}; at most ${sizeWords(limit)}). Shorten it, or send it as a file.`,
    };
  }
  if (bytes >= limit * NEAR_LIMIT) {
    const left = limit - bytes;
    return {
      level: "near",
      bytes,
      text: `Nearly too long: room for about ${left} more ${left === 1 ? "letter" : "letters"}.`,
    };
  }
  return { level: "ok", bytes, text: "" };
}

// The parts of a message's row (ui/message-row.js) for replies, edits and deletions:
// the quote of the message a reply answers, the "edited" mark (when, on hover and focus),
// the Reply, Edit and Delete buttons, and the inline "Delete this message?" question.
// What they do is ui/message-actions.js.

import { shownBody } from "../chat-log.js";
import { formatFull, h, ICONS, icon } from "./dom.js";

/** @typedef {import("./types.js").ChatMessageView} ChatMessageView */
/** @typedef {import("./message-row.js").RowContext} RowContext */

/**
 * A message body as text: strings as they are, anything else as JSON.
 * @param {unknown} body
 * @returns {string}
 */
export function bodyText(body) {
  if (typeof body === "string") return body;
  try {
    return JSON.stringify(body) ?? String(body);
  } catch {
    return String(body);
  }
}

/** What a deleted message shows in its place. */
export const DELETED_TEXT = "Message deleted";

/**
 * A reply's quote of the message it answers, as the row shows it.
 * @typedef {{seq: number, name: string, text: string, deleted: boolean, missing: boolean}} Quote
 *   missing: the original is not loaded here (older history, or gone): a click loads it.
 */

/**
 * The quote of a reply's target, from this client's own copy of it (a reply never
 * copies its target's words: docs/protocol.md).
 * @param {number} seq
 * @param {ChatMessageView | undefined} target
 * @returns {Quote}
 */
export function quoteOf(seq, target) {
  if (!target) return { seq, name: "", text: "Earlier message", deleted: false, missing: true };
  const shown = shownBody(target);
  const text = shown.deleted ? DELETED_TEXT : firstLine(bodyText(shown.body));
  return { seq, name: target.sender_name || "Someone", text, deleted: shown.deleted, missing: false };
}

/**
 * The first line of a text, cut to a quote's length.
 * @param {string} text
 */
export function firstLine(text) {
  const line = text.trim().split("\n", 1)[0] ?? "";
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

/**
 * "edited", with when on hover and focus (the time is in the title and read out).
 * @param {ChatMessageView} m
 */
export function editedMark(m) {
  if (!m.edited_at || m.pending) return h("span", { class: "msg-edited", text: "edited" });
  const edited = formatFull(new Date(m.edited_at * 1000));
  return h("span", { class: "msg-edited", title: `Edited ${edited}`, tabindex: "0", "data-focus": "edited" }, [
    h("span", { "aria-hidden": "true", text: "edited" }),
    h("span", { class: "visually-hidden", text: `edited ${edited}` }),
  ]);
}

/**
 * Reply, Edit and Delete next to React: reply to what the server has numbered; edit and
 * delete one's own (a message still in the outbox too: it changes there).
 * @param {ChatMessageView} m
 * @param {RowContext} ctx
 * @returns {HTMLElement[]}
 */
export function actionButtons(m, ctx) {
  /** @type {HTMLElement[]} */
  const out = [];
  const action = (/** @type {string} */ name, /** @type {string} */ label, /** @type {string[]} */ path) =>
    h(
      "button",
      {
        type: "button",
        class: "msg-action icon-btn",
        "data-action": name,
        "data-focus": name,
        "aria-label": label,
        title: label,
      },
      [icon(path)],
    );
  if (m.seq != null && (m.kind ?? "text") === "text") out.push(action("reply", "Reply", ICONS.reply));
  if (ctx.mine && m.state !== "failed" && !m.afterAck) {
    if ((m.kind ?? "text") === "text") out.push(action("edit", "Edit", ICONS.edit));
    const del = action("delete", "Delete", ICONS.trash);
    del.setAttribute("aria-expanded", ctx.confirming ? "true" : "false");
    out.push(del);
  }
  return out;
}

/**
 * The quote above a reply: who and their first line; a button that jumps to the original.
 * @param {Quote} quote
 */
export function quoteButton(quote) {
  const label = quote.missing
    ? "Reply to an earlier message; show it"
    : `Reply to ${quote.name}: ${quote.text}; show the original`;
  return h(
    "button",
    {
      type: "button",
      class: `msg-quote${quote.deleted ? " deleted" : ""}`,
      "data-action": "quote",
      "data-focus": "quote",
      "data-ref": String(quote.seq),
      "aria-label": label,
    },
    [
      quote.missing ? null : h("span", { class: "msg-quote-name", text: quote.name }),
      h("span", { class: "msg-quote-text", text: quote.text }),
    ],
  );
}

/** The inline "Delete this message?" question; its "No" takes focus (the safe answer). */
export function confirmDelete() {
  return h("div", { class: "msg-confirm", role: "group", "aria-label": "Delete this message?" }, [
    h("span", { class: "msg-confirm-text", text: "Delete this message for everyone?" }),
    h("button", {
      type: "button",
      class: "retry-btn",
      "data-action": "confirm-delete",
      "data-focus": "confirm-delete",
      text: "Delete",
    }),
    h("button", {
      type: "button",
      class: "retry-btn",
      "data-action": "cancel-delete",
      "data-focus": "cancel-delete",
      text: "Keep it",
    }),
  ]);
}

// One message's row in <pl-message-list>: its content (bubble, sender, time, state,
// reactions, the actions), rebuilt only when what it shows changes (signature).

import { shownBody } from "../chat-log.js";
import { linkify } from "../linkify.js";
import { formatDay, formatFull, formatTime, h, ICONS, icon } from "./dom.js";
import { actionButtons, bodyText, confirmDelete, DELETED_TEXT, editedMark, quoteButton } from "./message-controls.js";

export { bodyText, DELETED_TEXT, firstLine, quoteOf } from "./message-controls.js";

/** @typedef {import("./types.js").ChatMessageView} ChatMessageView */

const GROUP_GAP_S = 5 * 60; // a follow-up within this of the sender's previous message is grouped

/** The reaction picker's choices, with words for tooltips and assistive technology. */
export const REACTIONS = /** @type {const} */ ([
  ["👍", "Thumbs up"],
  ["❤️", "Heart"],
  ["😂", "Laughing"],
  ["🎉", "Party"],
  ["😮", "Surprised"],
  ["😢", "Sad"],
]);

/** Why a message without a seq takes no reaction yet, in plain words. */
export const NOT_YET_REACTABLE = "You can react once it is delivered to the server";

const STATE_TEXT = /** @type {Record<string, string>} */ ({
  sending: "Sending…",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
});
const STATE_ICON = /** @type {Record<string, string[]>} */ ({
  sending: ICONS.clock,
  sent: ICONS.check,
  delivered: ICONS.checks,
  read: ICONS.checks,
  failed: ICONS.alert,
});

/**
 * A message's text as nodes: plain text, and its http(s) addresses as links that open in
 * a new tab without handing that tab this page (`noopener`) or its address (`noreferrer`).
 * Built from DOM nodes, never parsed HTML: the text stays text.
 * @param {string} text
 * @returns {(HTMLAnchorElement | string)[]}
 */
export function bodyNodes(text) {
  return linkify(text).map((part) =>
    part.href
      ? h("a", { class: "msg-link", href: part.href, target: "_blank", rel: "noopener noreferrer", text: part.text })
      : part.text,
  );
}

/** @param {ChatMessageView} m */
const millis = (m) => (typeof m.ts === "number" && m.ts > 0 ? m.ts * 1000 : Date.now());

/** @param {string} s */
function hue(s) {
  let x = 0;
  for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(x) % 6;
}

/**
 * How a row stands to the one before it: own, a new day, a follow-up of the same sender.
 * @param {ChatMessageView} m
 * @param {ChatMessageView | undefined} prev
 * @param {string} me
 * @param {string[]} [readers]  who else has read it (names), for an own "read" message
 * @param {{quote?: import("./message-controls.js").Quote | null, confirming?: boolean}} [more]  a reply's quote; the
 *   "Delete this message?" question open
 * @returns {RowContext}
 */
export function rowContext(m, prev, me, readers = [], more = {}) {
  const t = millis(m);
  const day = formatDay(new Date(t));
  const newDay = !prev || formatDay(new Date(millis(prev))) !== day;
  const grouped = !!prev && !newDay && prev.sender === m.sender && Math.abs(t - millis(prev)) < GROUP_GAP_S * 1000;
  const quote = more.quote ?? null;
  return { mine: m.sender === me, me, day: newDay ? day : "", grouped, readers, quote, confirming: !!more.confirming };
}

/**
 * @typedef {object} RowContext
 * @property {boolean} mine
 * @property {string} me       my participant id
 * @property {string} day      the day separator to show above the row, or ""
 * @property {boolean} grouped a follow-up of the previous row's sender
 * @property {string[]} [readers] who else has read it, by name (own "read" messages)
 * @property {import("./message-controls.js").Quote | null} [quote] the message it replies to
 * @property {boolean} [confirming] its "Delete this message?" question is open
 */

/** "Read by" names this many people; more become "and N more", all named on hover/focus. */
const READERS_SHOWN = 2;

/**
 * "Read" in words that say by whom.
 * @param {readonly string[]} names  who has read it (not me)
 * @returns {{short: string, full: string}}  what the row shows, and the whole list
 */
export function readByText(names) {
  if (names.length === 0) return { short: "Read", full: "Read" };
  const list = (/** @type {readonly string[]} */ all) =>
    all.length === 1 ? all[0] : `${all.slice(0, -1).join(", ")} and ${all[all.length - 1]}`;
  const full = `Read by ${list(names)}`;
  if (names.length <= READERS_SHOWN + 1) return { short: full, full };
  const rest = names.length - READERS_SHOWN;
  return { short: `Read by ${names.slice(0, READERS_SHOWN).join(", ")} and ${rest} more`, full };
}

/**
 * Everything a row's look depends on: rebuilt only when this changes.
 * @param {ChatMessageView} m
 * @param {RowContext} ctx
 */
export function signature(m, ctx) {
  let reactions = "";
  if (m.reactions) {
    for (const [emoji, who] of m.reactions) {
      if (who.size) reactions += `${emoji}${who.size}${who.has(ctx.me) ? "*" : ""},`;
    }
  }
  const readers = ctx.readers?.join("\u0000") ?? "";
  // An edit or a deletion changes the body of a message whose seq and state stay the same.
  // So does an own change on its way (pending), or one waiting for the seq (afterAck).
  const shown = shownBody(m);
  const changed = `${m.edited_at ?? ""}/${m.deleted_at ?? ""}/${m.pending?.id ?? ""}/${shown.deleted}/${m.afterAck?.kind ?? ""}`;
  const quote = ctx.quote ? `${ctx.quote.name}\u0000${ctx.quote.text}\u0000${ctx.quote.missing}` : "";
  const body = typeof shown.body === "string" ? shown.body : "";
  return `${m.seq}|${m.state}|${m.final ? "final" : ""}|${readers}|${m.sender_name}|${ctx.mine}|${ctx.day}|${ctx.grouped}|${m.ts}|${reactions}|${changed}|${quote}|${ctx.confirming}|${body}`;
}

/**
 * (Re)build one row's content in place, keeping keyboard focus where it was.
 * @param {HTMLElement} el
 * @param {ChatMessageView} m
 * @param {RowContext} ctx
 */
export function fillRow(el, m, ctx) {
  const active = document.activeElement;
  const focusKey = active instanceof HTMLElement && el.contains(active) ? active.dataset.focus : undefined;

  el.className = `ml-row${ctx.mine ? " mine" : ""}${ctx.grouped ? " grouped" : ""}`;
  el.dataset.testid = "message";
  el.dataset.id = m.id;
  el.dataset.seq = m.seq == null ? "" : String(m.seq);
  el.dataset.sender = m.sender;
  el.dataset.state = m.state;

  const when = new Date(millis(m));
  const time = h("time", {
    class: "msg-time",
    datetime: when.toISOString(),
    title: formatFull(when),
    text: formatTime(when),
  });
  const sender = h("span", {
    class: `msg-sender c${hue(m.sender)}${ctx.mine || ctx.grouped ? " visually-hidden" : ""}`,
    text: m.sender_name || "Someone",
  });
  const shown = shownBody(m);
  const body = shown.deleted
    ? h("div", { class: "msg-body msg-deleted", text: DELETED_TEXT })
    : h(
        "div",
        { class: `msg-body${typeof shown.body === "string" ? "" : " msg-json"}` },
        bodyNodes(bodyText(shown.body)),
      );

  const foot = h("div", { class: "msg-foot" });
  if (shown.edited) foot.append(editedMark(m));
  const reactions = m.reactions ? Array.from(m.reactions).filter(([, who]) => who.size > 0) : [];
  if (reactions.length) {
    const group = h("div", { class: "reactions", role: "group", "aria-label": "Reactions" });
    for (const [emoji, who] of reactions) {
      const mineToo = who.has(ctx.me);
      const n = who.size;
      group.append(
        h(
          "button",
          {
            type: "button",
            class: "reaction",
            "data-action": "toggle",
            "data-emoji": emoji,
            "data-focus": `r:${emoji}`,
            "aria-pressed": mineToo ? "true" : "false",
            "aria-label": `${emoji} ${n}`,
            title: mineToo
              ? `${n === 1 ? "You" : `You and ${n - 1} more`} reacted with ${emoji}; click to remove yours`
              : `${n} reacted with ${emoji}; click to add yours`,
          },
          [
            h("span", { class: "reaction-emoji", "aria-hidden": "true", text: emoji }),
            h("span", { class: "reaction-count", "aria-hidden": "true", text: String(n) }),
          ],
        ),
      );
    }
    foot.append(group);
  }
  if (shown.deleted) {
    // A deleted message takes no reaction, edit or reply.
  } else if (m.seq != null) {
    foot.append(
      h(
        "button",
        {
          type: "button",
          class: "react-btn icon-btn",
          "data-action": "react",
          "data-focus": "react",
          "aria-label": "React",
          "aria-haspopup": "menu",
          "aria-expanded": "false",
          title: "React",
        },
        [icon(ICONS.smile)],
      ),
    );
  } else if (m.state !== "failed") {
    // Reactions name their target by its seq, which only the server gives: until then
    // the control is there but says why it does nothing (aria-disabled, not disabled,
    // so the keyboard still reaches it and its reason is read out).
    foot.append(
      h(
        "button",
        {
          type: "button",
          class: "react-btn icon-btn",
          "data-focus": "react",
          "aria-label": "React",
          "aria-disabled": "true",
          "aria-description": NOT_YET_REACTABLE,
          title: NOT_YET_REACTABLE,
        },
        [icon(ICONS.smile)],
      ),
    );
  }
  if (!shown.deleted) foot.append(...actionButtons(m, ctx));
  const meta = h("span", { class: "msg-meta" }, [time]);
  if (ctx.mine) {
    const state = m.state in STATE_TEXT ? m.state : "sending";
    const read = state === "read" ? readByText(ctx.readers ?? []) : null;
    // Names cut short are all in the title, and the state can take focus to show it.
    const cut = !!read && read.short !== read.full;
    meta.append(
      h(
        "span",
        {
          class: `msg-state state-${state}`,
          title: read ? read.full : null,
          tabindex: cut ? "0" : null,
          "data-focus": cut ? "state" : null,
        },
        [
          icon(/** @type {string[]} */ (STATE_ICON[state]), "icon state-icon"),
          h("span", {
            class: "state-text",
            "aria-hidden": cut ? "true" : null,
            text: read ? read.short : (STATE_TEXT[state] ?? state),
          }),
          cut ? h("span", { class: "visually-hidden", text: read.full }) : null,
        ],
      ),
    );
  }
  foot.append(meta);
  if (m.state === "failed") {
    // Retry only when sending again can help; Delete always (the server never stored it).
    if (!m.final) {
      foot.append(
        h("button", { type: "button", class: "retry-btn", "data-action": "retry", "data-focus": "retry" }, [
          icon(ICONS.retry),
          "Retry",
        ]),
      );
    }
    foot.append(
      h(
        "button",
        {
          type: "button",
          class: "retry-btn discard-btn",
          "data-action": "discard",
          "data-focus": "discard",
          title: "Delete this unsent message",
        },
        [icon(ICONS.close), "Delete"],
      ),
    );
  }

  const quote = ctx.quote ? quoteButton(ctx.quote) : null;
  const confirm = ctx.confirming && !shown.deleted ? confirmDelete() : null;
  const bubble = h("div", { class: "msg", tabindex: "-1", "data-focus": "bubble" }, [
    sender,
    quote,
    body,
    foot,
    confirm,
  ]);
  el.replaceChildren();
  if (ctx.day) {
    el.append(h("div", { class: "day-sep", role: "separator", "aria-label": ctx.day }, [h("span", { text: ctx.day })]));
  }
  el.append(bubble);

  if (focusKey) {
    const again = /** @type {HTMLElement | null} */ (el.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`));
    again?.focus();
  }
}

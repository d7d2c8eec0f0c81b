// A file offer in the chat timeline: the row of a chat message of kind "file" whose op is
// "offer", at the offer's place in the conversation (the files panel keeps its own list).
//
// The join: the offer's `body.transfer` is the transfer's id in the engine
// (`room.transfers.get(id)`). While this browser has that transfer, the row shows it live
// with the files panel's own row (ui/transfer-row.js: state, progress, Accept / Decline /
// Cancel / Save …), updated on the engine's "change" events. Otherwise (a transfer
// removed from the list here, one sent from another browser, no engine in this page) it
// shows what the offer itself says, and why there is nothing to do. An offer to one
// person is a row for the sender and that person only (offerShownTo).

import { cleanName } from "../transfer-records.js";
import { formatFull, formatTime, h } from "./dom.js";
import { fileKind, formatBytes, kindIcon } from "./file-info.js";
import { fileNameEl } from "./file-name.js";
import { SAVED_EVENT, TransferRow } from "./transfer-row.js";
import { withRecipient } from "./transfer-text.js";

/** @typedef {import("./types.js").ChatMessageView} ChatMessageView */
/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./types.js").TransferView} TransferView */
/** @typedef {import("./message-row.js").RowContext} RowContext */

/**
 * What an offer message says, checked (a peer's message body is anyone's words), or null
 * when it is not an offer this row can show.
 * @param {ChatMessageView} m
 * @returns {{transfer: string, name: string, size: number, type: string, to: string | null} | null}
 */
export function offerOf(m) {
  const body = /** @type {Record<string, unknown> | null} */ (m.body);
  if (m.kind !== "file" || !body || typeof body !== "object" || body.op !== "offer") return null;
  const { transfer, name, size, type, to } = body;
  if (typeof transfer !== "string" || !transfer) return null;
  return {
    transfer,
    name: cleanName(name), // display text only, as the engine shows its own
    size: Number.isSafeInteger(size) && /** @type {number} */ (size) >= 0 ? /** @type {number} */ (size) : 0,
    type: typeof type === "string" ? type : "",
    to: typeof to === "string" ? to : null,
  };
}

/**
 * Whether an offer is a row of my timeline: one to everyone, to me, or mine. An offer to
 * someone else reaches this browser too (the server keeps it in the room's history), but
 * it is not mine to see: it is not shown.
 * @param {ChatMessageView} m
 * @param {string} me
 */
export function offerShownTo(m, me) {
  const offer = offerOf(m);
  return !!offer && (offer.to === null || offer.to === me || m.sender === me);
}

/**
 * Everything the row's frame depends on (the transfer inside updates itself).
 * @param {ChatMessageView} m
 * @param {RowContext} ctx
 */
export function fileRowSignature(m, ctx) {
  return `file|${m.seq}|${m.state}|${m.sender_name}|${ctx.mine}|${ctx.day}|${ctx.grouped}|${m.ts}`;
}

/**
 * A person of the room by participant id: named by their peer while online, else by
 * their latest message.
 * @param {RoomLike | null} room
 * @param {string} id
 * @returns {{name: string, online: boolean} | undefined}
 */
export function personIn(room, id) {
  if (!room) return undefined;
  for (const peer of room.peers.values()) {
    if (peer.participant_id === id && peer.name) return { name: peer.name, online: true };
  }
  const messages = room.messages;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = /** @type {ChatMessageView} */ (messages[i]);
    if (m.sender === id && m.sender_name) return { name: m.sender_name, online: false };
  }
  return undefined;
}

/**
 * What an offer without a transfer here says: who offered it to whom, and why there is
 * nothing to do with it in this browser.
 * @param {NonNullable<ReturnType<typeof offerOf>>} offer
 * @param {ChatMessageView} m
 * @param {boolean} mine
 * @param {string} me
 * @param {(id: string) => string | undefined} nameOf
 * @param {boolean} engine  whether this page has a transfer engine
 * @returns {{who: string, state: string}}
 */
export function offerText(offer, m, mine, me, nameOf, engine) {
  const from = mine ? "you" : m.sender_name || "someone";
  const toName = offer.to === null ? "everyone" : offer.to === me ? "you" : (nameOf(offer.to) ?? "one person");
  const who = `From ${from} to ${toName}`;
  if (!engine) return { who, state: "Sending and receiving files isn't available in this page." };
  return { who, state: "Not in this browser's files list." };
}

/**
 * (Re)build a file offer's row in place. Its transfer element is kept when it shows the
 * same offer, so a frame rebuild (the offer got its seq) keeps focus and progress.
 * @param {HTMLElement} el
 * @param {ChatMessageView} m
 * @param {RowContext} ctx
 * @param {RoomLike | null} room
 */
export function fillFileRow(el, m, ctx, room) {
  const offer = offerOf(m);
  el.className = `ml-row file-row-msg${ctx.mine ? " mine" : ""}${ctx.grouped ? " grouped" : ""}`;
  el.dataset.testid = "file-message";
  el.dataset.id = m.id;
  el.dataset.seq = m.seq == null ? "" : String(m.seq);
  el.dataset.sender = m.sender;
  el.dataset.state = m.state;
  el.dataset.transferId = offer?.transfer ?? "";

  const old = el.querySelector("pl-file-offer");
  const active = document.activeElement;
  const hadFocus = !!old && active instanceof HTMLElement && old.contains(active);
  const item = old instanceof FileOffer && old.transferId === (offer?.transfer ?? "") ? old : new FileOffer();
  item.setup(room, m, ctx);

  const when = new Date(typeof m.ts === "number" && m.ts > 0 ? m.ts * 1000 : Date.now());
  const foot = h("div", { class: "msg-foot" }, [
    h("span", { class: "msg-meta" }, [
      h("time", { class: "msg-time", datetime: when.toISOString(), title: formatFull(when), text: formatTime(when) }),
      ctx.mine && m.state === "sending" ? h("span", { class: "msg-state", text: "Sending…" }) : null,
    ]),
  ]);
  const parts = [];
  if (ctx.day) {
    parts.push(
      h("div", { class: "day-sep", role: "separator", "aria-label": ctx.day }, [h("span", { text: ctx.day })]),
    );
  }
  parts.push(h("div", { class: "file-msg" }, [item, foot]));
  el.replaceChildren(...parts);
  if (hadFocus) /** @type {HTMLElement} */ (active).focus();
}

/** <pl-file-offer>: the transfer an offer started, kept in step with the engine. */
export class FileOffer extends HTMLElement {
  /** @type {RoomLike | null} */
  #room = null;
  /** @type {ChatMessageView | null} */
  #message = null;
  #mine = false;
  #me = "";
  /** @type {import("./types.js").TransfersLike | null} */
  #engine = null;
  /** @type {TransferRow | null} */
  #row = null;
  transferId = "";

  /**
   * @param {RoomLike | null} room
   * @param {ChatMessageView} m
   * @param {RowContext} ctx
   */
  setup(room, m, ctx) {
    this.#room = room;
    this.#message = m;
    this.#mine = ctx.mine;
    this.#me = ctx.me;
    this.transferId = offerOf(m)?.transfer ?? "";
    if (this.isConnected) this.#subscribe();
    this.#render();
  }

  connectedCallback() {
    this.#subscribe();
    this.#render();
  }

  disconnectedCallback() {
    this.#engine?.removeEventListener("change", this.#onChange);
    this.#engine = null;
  }

  #subscribe() {
    const engine = this.#room?.transfers ?? null;
    if (engine === this.#engine) return;
    this.#engine?.removeEventListener("change", this.#onChange);
    this.#engine = engine;
    engine?.addEventListener("change", this.#onChange);
  }

  #onChange = () => this.#render();

  #render() {
    const m = this.#message;
    const offer = m && offerOf(m);
    if (!m || !offer) {
      this.replaceChildren();
      return;
    }
    const engine = this.#engine ?? this.#room?.transfers ?? null;
    const view = engine?.get(offer.transfer);
    if (engine && view) {
      const named = withRecipient(view, (id) => personIn(this.#room, id));
      if (this.#row) this.#row.update(named);
      else {
        const saved = (/** @type {string} */ id) =>
          this.dispatchEvent(new CustomEvent(SAVED_EVENT, { bubbles: true, detail: id }));
        this.#row = new TransferRow(named, engine, saved, TIMELINE);
        this.replaceChildren(this.#row.el);
      }
      return;
    }
    // The transfer left this browser's list (or never was in it).
    const hadFocus = this.contains(document.activeElement);
    this.#row = null;
    const { who, state } = offerText(offer, m, this.#mine, this.#me, (id) => personIn(this.#room, id)?.name, !!engine);
    const nameId = `offer-name-${offer.transfer}`;
    this.replaceChildren(
      h("div", { class: "transfer", role: "group", "aria-labelledby": nameId, tabindex: "-1", "data-state": "gone" }, [
        kindIcon(fileKind(offer.name, offer.type)),
        h("div", { class: "file-main" }, [
          h("div", { class: "file-line" }, [
            fileNameEl(offer.name, { id: nameId, "data-testid": "transfer-name" }),
            h("span", { class: "file-size", "data-testid": "transfer-size", text: formatBytes(offer.size) }),
          ]),
          h("div", { class: "transfer-meta" }, [
            h("span", { class: "transfer-who", "data-testid": "transfer-sender", text: who }),
          ]),
          h("div", { class: "transfer-line" }, [
            h("span", { class: "transfer-state", "data-testid": "transfer-state", text: state }),
          ]),
        ]),
      ]),
    );
    if (hadFocus) /** @type {HTMLElement} */ (this.firstElementChild).focus();
  }
}

/** @type {import("./transfer-row.js").RowPlace} */
const TIMELINE = { tag: "div", testid: "timeline-transfer", idPrefix: "offer" };

customElements.define("pl-file-offer", FileOffer);

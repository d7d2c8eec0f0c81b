// <pl-invite-panel>: the room's current invite (link, short code, QR, expiry) and, for
// the owner, Extend / Revoke (after a "Revoke this invite?" question) / New invite. Members
// see the live invite to pass it on; a dead invite shows no QR code and cannot be copied.

import * as api from "../api.js";
import { takeInvite } from "../handover.js";
import { whenConnected } from "./connection-panel.js";
import { append, errorMessage, h, ICONS, icon } from "./dom.js";
import { InviteQr } from "./invite-qr.js";
import {
  bestInvite,
  expiryText,
  followInvites,
  introText,
  inviteList,
  ownerActions,
  sameInvite,
} from "./invite-views.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./invite-views.js").InviteView} InviteView */

const DAY_S = 86_400;
const OLD_LINK = "This older invite's link cannot be shown again; make a new invite to share.";

/**
 * A label and the value it names (the invite's link or code), tied for screen readers.
 * @param {string} kind  class and test id of the value; its label's id is `${kind}-label`
 * @param {string} label
 * @param {string} text
 * @returns {HTMLElement[]}
 */
function labelledValue(kind, label, text) {
  const labelId = `${kind}-label`;
  return [
    h("p", { class: "field-label", id: labelId, text: label }),
    h("p", { class: kind, "data-testid": kind, "aria-labelledby": labelId, text }),
  ];
}

export class InvitePanel extends HTMLElement {
  /** @type {RoomLike | null} */
  #room = null;
  /** @type {InviteView | null} */
  #invite = null;
  #loaded = false;
  #busy = false;
  /** The owner pressed Revoke and is asked to confirm (revoking can't be undone). */
  #confirmingRevoke = false;
  #qr = new InviteQr();
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #tick;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #poll;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #copiedTimer;
  /** Cancels the wait for the room's connection before the first fetch. */
  #cancelWait = () => {};

  #body = h("div", { class: "invite-body" });
  #error = h("p", { class: "form-error", role: "alert" });
  #copied = h("span", { class: "copied", role: "status" });

  connectedCallback() {
    if (!this.firstChild) {
      this.append(
        h("section", { class: "panel invite-panel", "aria-labelledby": "invite-title" }, [
          h("h2", { id: "invite-title", class: "panel-title", text: "Invite people" }),
          this.#body,
          this.#error,
        ]),
      );
    }
    this.#tick = setInterval(() => this.#renderExpiry(), 30_000);
    // The owner may revoke or replace the invite at any time: look again now and then.
    this.#poll = setInterval(() => {
      if (document.visibilityState === "visible") void this.refresh();
    }, 60_000);
    document.addEventListener("visibilitychange", this.#onVisible);
    this.#render();
  }

  disconnectedCallback() {
    clearInterval(this.#tick);
    clearInterval(this.#poll);
    clearTimeout(this.#copiedTimer);
    this.#cancelWait();
    this.#unfollow();
    document.removeEventListener("visibilitychange", this.#onVisible);
  }

  #onVisible = () => {
    if (document.visibilityState === "visible") void this.refresh();
  };

  /** @param {RoomLike | null} room */
  set room(room) {
    this.#room = room;
    const id = room?.roomInfo?.id;
    const given = id ? takeInvite(id) : null;
    if (given) {
      this.#invite = given;
      this.#loaded = true;
    }
    this.#render();
    // The room is connecting: ask for the invites (and the QR code) once it is in.
    this.#cancelWait();
    this.#cancelWait = room ? whenConnected(room, () => void this.refresh()) : () => {};
    this.#follow(room);
  }

  /** Stops listening to the room given before. */
  #unfollow = () => {};
  /** The room key the shown link was drawn with. */
  #drawnKey = "";

  /** @param {RoomLike | null} room */
  #follow(room) {
    this.#unfollow();
    this.#unfollow = room
      ? followInvites(room, {
          invites: () => void this.refresh(),
          drawnKey: () => this.#drawnKey,
          rekeyed: async () => {
            await this.refresh();
            this.#render(); // even for the same invite: its link carries the new key
          },
        })
      : () => {};
  }

  /** @returns {RoomLike | null} */
  get room() {
    return this.#room;
  }

  get #roomId() {
    return this.#room?.roomInfo?.id ?? "";
  }

  get #isOwner() {
    return this.#room?.me?.role === "owner";
  }

  /** Fetch the room's invites and show the best one (the newest live one). */
  async refresh() {
    const id = this.#roomId;
    if (!id) return;
    try {
      const list = await this.#withCodes(inviteList(await api.listInvites(id)));
      const best = bestInvite(list);
      // Keep the QR markup of the invite we already hold.
      if (best && this.#invite && best.id === this.#invite.id && !best.qr_svg) best.qr_svg = this.#invite.qr_svg;
      const same = this.#loaded && sameInvite(best, this.#invite);
      this.#invite = best;
      this.#loaded = true;
      this.#error.textContent = "";
      if (same) return;
    } catch (err) {
      if (!this.#invite) this.#error.textContent = errorMessage(err, "Couldn't load the invite.");
      if (this.#loaded) return;
      this.#loaded = true;
    }
    this.#render();
  }

  /**
   * The invite as shown. An encrypted room's link carries the room's key in its fragment
   * (the server never sees it), so the server's QR code cannot carry it: the browser draws
   * that one (#render). The short code cannot carry the key: it is shown to be read aloud,
   * and a member's client checks it and hands over the key (a PAKE: e2e/pake-answer.js).
   * @param {InviteView | null} inv
   */
  #keyed(inv) {
    const keyText = this.#room?.e2e?.keyText;
    if (!inv?.link || !keyText) return inv;
    return { ...inv, link: `${inv.link}.${keyText}`, qr_svg: null, qr_url: "" };
  }

  #render() {
    this.#drawnKey = this.#room?.e2e?.keyText ?? "";
    const inv = this.#keyed(this.#invite);
    const encrypted = Boolean(this.#room?.e2e?.keyText);
    const owner = this.#isOwner;
    const body = this.#body;
    body.replaceChildren();
    if (!this.#loaded) {
      body.append(h("p", { class: "muted", text: "Loading the invite…" }));
      return;
    }
    if (!inv) {
      body.append(
        h("p", {
          class: "muted",
          text: owner
            ? "There is no invite yet. Create one to bring people in."
            : "There is no live invite. Ask the room's owner for one.",
        }),
      );
      if (owner) body.append(this.#ownerActions(null));
      return;
    }
    const live = inv.status === "live";
    body.classList.toggle("dead", !live);
    body.append(h("p", { class: "muted", text: introText(inv, encrypted) }));

    const linkActions = h("div", { class: "btn-row" }, [
      h("button", { type: "button", class: "btn", disabled: !live, onclick: () => this.#copy() }, [
        icon(ICONS.copy),
        "Copy link",
      ]),
    ]);
    if (typeof navigator.share === "function") {
      linkActions.append(
        h("button", { type: "button", class: "btn", disabled: !live, onclick: () => this.#share() }, [
          icon(ICONS.share),
          "Share",
        ]),
      );
    }
    linkActions.append(this.#copied);

    const qr = h("div", {
      class: "invite-qr",
      "data-testid": "invite-qr",
      role: "img",
      "aria-label": "QR code of the invite link",
    });
    this.#qr.fill(qr, inv, encrypted ? inv.link : null);

    append(body, [
      ...labelledValue("invite-link", "Invite link", inv.link ?? OLD_LINK),
      inv.link ? linkActions : null,
      ...labelledValue("invite-code", encrypted ? "Room code (read aloud)" : "Room code", inv.code ?? "—"),
      inv.code ? null : h("p", { class: "muted small", text: "The code was retired; the link still works." }),
      encrypted
        ? h("p", {
            class: "muted small",
            "data-testid": "invite-e2e-note",
            text: "This room is end-to-end encrypted: its key is in the link and in the QR code, the fast way in. Someone given the code instead joins once a member of the room is online to check it.",
          })
        : null,
      h("div", { class: "invite-grid" }, [
        qr,
        h("div", { class: "invite-text" }, [
          h("p", { class: "invite-expiry", "data-testid": "invite-expiry" }),
          live
            ? h("p", { class: "muted small", text: "Scan the QR code with a phone's camera to open the invite." })
            : null,
        ]),
      ]),
    ]);
    this.#renderExpiry();
    if (owner) body.append(this.#ownerActions(inv));
  }

  /** @param {InviteView | null} inv */
  #ownerActions(inv) {
    return ownerActions(inv, {
      busy: this.#busy,
      confirming: this.#confirmingRevoke,
      extend: (target) => void this.#act(() => api.updateInvite(this.#roomId, target.id, { ttl: DAY_S })),
      askRevoke: (asking) => this.#askRevoke(asking),
      revoke: (target) => {
        this.#confirmingRevoke = false;
        void this.#act(() => api.revokeInvite(this.#roomId, target.id));
      },
      create: () => void this.#act(() => this.#createInvite()),
    });
  }

  /**
   * An encrypted room's invites with their codes as this member can read them: the words
   * opened from `sealed_code` (e2e/code-words.js); other rooms' as the server made them.
   * @param {InviteView[]} list
   */
  async #withCodes(list) {
    const keyText = this.#room?.e2e?.keyText;
    if (!keyText) return list;
    const { makeRoomCode, withRoomCodes } = await import("../e2e/code-words.js");
    const opened = await withRoomCodes(list, this.#roomId, keyText);
    if (!this.#isOwner) return opened;
    // A live code without sealed words (the room was made by a move, or this browser was
    // closed before it stored them): the owner's browser draws them now. The server takes
    // them once; a server-made code of an older invite is refused and stays unshown.
    return Promise.all(
      opened.map((inv) =>
        inv.status === "live" && inv.nameplate && !inv.sealed_code
          ? makeRoomCode(this.#roomId, inv, keyText).catch(() => inv)
          : inv,
      ),
    );
  }

  /** A new invite; in an encrypted room, with words drawn here and stored sealed. */
  async #createInvite() {
    const invite = /** @type {InviteView} */ (await api.createInvite(this.#roomId, {}));
    const keyText = this.#room?.e2e?.keyText;
    if (!keyText) return invite;
    const { makeRoomCode } = await import("../e2e/code-words.js");
    return makeRoomCode(this.#roomId, invite, keyText);
  }

  /**
   * Show or leave the "Revoke this invite?" question; focus goes to its safe answer, and
   * back to Revoke when it is left.
   * @param {boolean} asking
   */
  #askRevoke(asking) {
    this.#confirmingRevoke = asking;
    this.#render();
    const focus = asking ? "[data-action=keep-invite]" : "[data-action=revoke]";
    /** @type {HTMLElement | null} */ (this.querySelector(focus))?.focus();
  }

  /** @param {() => Promise<unknown>} call */
  async #act(call) {
    if (this.#busy) return;
    this.#busy = true;
    this.#error.textContent = "";
    const focusedText =
      document.activeElement instanceof HTMLButtonElement && this.contains(document.activeElement)
        ? document.activeElement.textContent
        : null;
    this.#render();
    try {
      const result = /** @type {InviteView | {invite?: InviteView}} */ (await call());
      const inv = result && "link" in result ? result : /** @type {{invite?: InviteView}} */ (result)?.invite;
      if (inv) this.#invite = (await this.#withCodes([inv]))[0];
    } catch (err) {
      this.#error.textContent = errorMessage(err);
    } finally {
      this.#busy = false;
    }
    this.#render();
    // Keep keyboard focus on the same action, or the first one still there.
    if (focusedText !== null) {
      const buttons = /** @type {HTMLButtonElement[]} */ (Array.from(this.querySelectorAll(".owner-actions button")));
      (buttons.find((b) => b.textContent === focusedText) ?? buttons[0])?.focus();
    }
  }

  #renderExpiry() {
    const inv = this.#invite;
    const el = /** @type {HTMLElement | null} */ (this.querySelector("[data-testid=invite-expiry]"));
    if (!inv || !el) return;
    const { text, title, warn } = expiryText(inv, Date.now() / 1000);
    el.textContent = text;
    el.title = title;
    el.classList.toggle("warn", warn);
  }

  async #copy() {
    const link = this.#keyed(this.#invite)?.link;
    if (!link) return;
    let ok = false;
    try {
      await navigator.clipboard.writeText(link);
      ok = true;
    } catch {
      // No clipboard permission (an insecure origin, an old browser): select the text
      // so one Ctrl+C or long-press copies it.
      const el = this.querySelector("[data-testid=invite-link]");
      const sel = window.getSelection();
      if (el && sel) {
        const range = document.createRange();
        range.selectNodeContents(el);
        sel.removeAllRanges();
        sel.addRange(range);
      }
    }
    this.#copied.textContent = ok ? "Copied" : "Selected — press Ctrl+C to copy";
    this.#copied.classList.add("show");
    clearTimeout(this.#copiedTimer);
    this.#copiedTimer = setTimeout(() => {
      this.#copied.classList.remove("show");
      this.#copied.textContent = "";
    }, 2500);
  }

  async #share() {
    const inv = this.#keyed(this.#invite);
    if (!inv?.link) return;
    const name = this.#room?.roomInfo?.name ?? "a peerlane room";
    // The link carries an encrypted room's key: the code, to be read aloud, is not sent with it.
    const code = this.#room?.e2e?.keyText ? null : inv.code;
    try {
      await navigator.share({
        title: name,
        text: `Join ${name} on peerlane${code ? ` (code ${code})` : ""}`,
        url: inv.link,
      });
    } catch {
      /* the person closed the share sheet */
    }
  }
}

customElements.define("pl-invite-panel", InvitePanel);

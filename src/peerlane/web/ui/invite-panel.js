// <pl-invite-panel>: the room's current invite (link, short code, QR, expiry) and, for
// the owner, Extend / Revoke (after a "Revoke this invite?" question) / New invite. Members
// see the live invite to pass it on; a dead invite shows no QR code and cannot be copied.

import * as api from "../api.js";
import { takeInvite } from "../handover.js";
import { whenConnected } from "./connection-panel.js";
import { append, errorMessage, formatDuration, formatFull, h, ICONS, icon, parseSvg } from "./dom.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */

/**
 * @typedef {object} InviteView
 * @property {string} id
 * @property {string | null} link  null: an invite from before the server kept only hashes of
 *   its secrets; the server cannot show it again (the link itself still works)
 * @property {string | null} code
 * @property {number} expires_at     seconds since the epoch
 * @property {number | null} [max_uses]
 * @property {number} [uses]
 * @property {string} status         "live" | "expired" | "revoked" | "exhausted"
 * @property {string | null} [qr_svg]
 * @property {string} [qr_url]
 */

const DAY_S = 86_400;
const STATUS_TEXT = /** @type {Record<string, string>} */ ({
  expired: "This invite has expired.",
  revoked: "This invite was revoked.",
  exhausted: "This invite has been used as often as allowed.",
});

/** @param {unknown} value @returns {InviteView[]} */
function inviteList(value) {
  const list = Array.isArray(value) ? value : /** @type {{invites?: unknown}} */ (value)?.invites;
  return Array.isArray(list) ? /** @type {InviteView[]} */ (list) : [];
}

/**
 * @param {InviteView | null} a
 * @param {InviteView | null} b
 */
function sameInvite(a, b) {
  if (!a || !b) return a === b;
  return (
    a.id === b.id && a.status === b.status && a.expires_at === b.expires_at && a.uses === b.uses && a.code === b.code
  );
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
  /** @type {Map<string, SVGSVGElement>} */
  #qr = new Map();
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
      const list = inviteList(await api.listInvites(id));
      const live = list.filter((inv) => inv.status === "live");
      const pool = live.length ? live : list;
      const best = pool.reduce(
        (a, b) => (a === null || b.expires_at > a.expires_at ? b : a),
        /** @type {InviteView | null} */ (null),
      );
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

  #render() {
    const inv = this.#invite;
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
    let intro = STATUS_TEXT[inv.status] ?? "This invite no longer works.";
    if (live) {
      intro = "Send the link, show the QR code, or read out the code.";
      if (inv.max_uses != null) {
        const left = Math.max(0, inv.max_uses - (inv.uses ?? 0));
        intro += ` It lets ${left === 1 ? "one more person" : `${left} more people`} join.`;
      }
    }
    body.append(h("p", { class: "muted", text: intro }));

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
    this.#fillQr(qr, inv);

    append(body, [
      h("p", { class: "field-label", id: "invite-link-label", text: "Invite link" }),
      h("p", {
        class: "invite-link",
        "data-testid": "invite-link",
        "aria-labelledby": "invite-link-label",
        text: inv.link ?? "This older invite's link cannot be shown again; make a new invite to share.",
      }),
      inv.link ? linkActions : null,
      h("p", { class: "field-label", id: "invite-code-label", text: "Room code" }),
      h("p", {
        class: "invite-code",
        "data-testid": "invite-code",
        "aria-labelledby": "invite-code-label",
        text: inv.code ?? "—",
      }),
      inv.code ? null : h("p", { class: "muted small", text: "The code was retired; the link still works." }),
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
    const live = inv?.status === "live";
    const row = h("div", { class: "btn-row owner-actions", role: "group", "aria-label": "Manage the invite" });
    if (inv && inv.status !== "revoked") {
      row.append(
        h("button", {
          type: "button",
          class: "btn",
          disabled: this.#busy,
          title: "Make this invite valid for 24 hours from now",
          onclick: () => this.#act(() => api.updateInvite(this.#roomId, inv.id, { ttl: DAY_S })),
          text: "Extend 24 h",
        }),
      );
    }
    if (inv && live && this.#confirmingRevoke) return this.#revokeConfirm(inv);
    if (inv && live) {
      row.append(
        h("button", {
          type: "button",
          class: "btn danger",
          disabled: this.#busy,
          title: "Stop this link and code from working",
          "data-action": "revoke",
          onclick: () => this.#askRevoke(true),
          text: "Revoke",
        }),
      );
    }
    row.append(
      h("button", {
        type: "button",
        class: live ? "btn" : "btn primary",
        disabled: this.#busy,
        title: "Create a fresh link and code",
        onclick: () => this.#act(() => api.createInvite(this.#roomId, {})),
        text: "New invite",
      }),
    );
    return row;
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

  /** @param {InviteView} inv */
  #revokeConfirm(inv) {
    const question = h("p", {
      id: "revoke-question",
      class: "revoke-question",
      text: "Revoke this invite? Its link and code stop working at once, for anyone who hasn't joined yet. People already in the room stay.",
    });
    return h("div", { class: "owner-actions revoke-confirm", role: "group", "aria-labelledby": "revoke-question" }, [
      question,
      h("div", { class: "btn-row" }, [
        h("button", {
          type: "button",
          class: "btn",
          "data-action": "keep-invite",
          disabled: this.#busy,
          onclick: () => this.#askRevoke(false),
          text: "Keep the invite",
        }),
        h("button", {
          type: "button",
          class: "btn danger",
          "data-action": "confirm-revoke",
          disabled: this.#busy,
          onclick: () => {
            this.#confirmingRevoke = false;
            void this.#act(() => api.revokeInvite(this.#roomId, inv.id));
          },
          text: "Yes, revoke",
        }),
      ]),
    ]);
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
      if (inv) this.#invite = inv;
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
    const at = new Date(inv.expires_at * 1000);
    const left = inv.expires_at - Date.now() / 1000;
    let text;
    if (inv.status === "revoked") text = "Revoked";
    else if (inv.status === "exhausted") text = "Used up";
    else if (inv.status === "expired" || left <= 0) text = `Expired ${formatFull(at)}`;
    else text = `Expires in ${formatDuration(left)}`;
    el.textContent = text;
    el.title = `Expires ${formatFull(at)}`;
    el.classList.toggle("warn", inv.status !== "live" || left < 3600);
  }

  /**
   * @param {HTMLElement} box
   * @param {InviteView} inv
   */
  #fillQr(box, inv) {
    // A dead invite's QR code would only lead a phone to an error page: none is shown.
    if (inv.status !== "live") {
      box.classList.add("none");
      return;
    }
    const cached = this.#qr.get(inv.id);
    if (cached) {
      box.append(cached);
      return;
    }
    if (inv.qr_svg) {
      const svg = parseSvg(inv.qr_svg);
      if (svg) {
        this.#qr.set(inv.id, svg);
        box.append(svg);
        return;
      }
    }
    if (!inv.qr_url) {
      box.classList.add("none");
      return;
    }
    // Same origin whatever public URL the server was given: the CSP allows only 'self'.
    const url = new URL(inv.qr_url, location.href);
    box.classList.add("loading");
    fetch(url.pathname + url.search, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((markup) => {
        const svg = parseSvg(markup);
        if (!svg) return;
        this.#qr.set(inv.id, svg);
        box.classList.remove("loading");
        box.replaceChildren(svg);
      })
      .catch(() => {
        box.classList.remove("loading");
        box.classList.add("none");
      });
  }

  async #copy() {
    const link = this.#invite?.link;
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
    const inv = this.#invite;
    if (!inv?.link) return;
    const name = this.#room?.roomInfo?.name ?? "a peerlane room";
    try {
      await navigator.share({
        title: name,
        text: `Join ${name} on peerlane${inv.code ? ` (code ${inv.code})` : ""}`,
        url: inv.link,
      });
    } catch {
      /* the person closed the share sheet */
    }
  }
}

customElements.define("pl-invite-panel", InvitePanel);

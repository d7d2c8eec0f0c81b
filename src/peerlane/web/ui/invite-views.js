// What the invite panel shows, apart from the element: the invites the server lists and
// the one to show, the intro and expiry lines in words, and the owner's buttons (Extend,
// Revoke with its "Revoke this invite?" question, New invite).

import { formatDuration, formatFull, h } from "./dom.js";

/**
 * @typedef {object} InviteView
 * @property {string} id
 * @property {string | null} link  null: an invite from before the server kept only hashes of
 *   its secrets; the server cannot show it again (the link itself still works)
 * @property {string | null} code  in an encrypted room: the nameplate and the words opened from sealed_code
 * @property {number | null} [nameplate]
 * @property {string | null} [sealed_code]  an encrypted room's words, sealed under the room key
 * @property {number} expires_at     seconds since the epoch
 * @property {number | null} [max_uses]
 * @property {number} [uses]
 * @property {string} status         "live" | "expired" | "revoked" | "exhausted"
 * @property {string | null} [qr_svg]
 * @property {string} [qr_url]
 */

const STATUS_TEXT = /** @type {Record<string, string>} */ ({
  expired: "This invite has expired.",
  revoked: "This invite was revoked.",
  exhausted: "This invite has been used as often as allowed.",
});

/** @param {unknown} value @returns {InviteView[]} */
export function inviteList(value) {
  const list = Array.isArray(value) ? value : /** @type {{invites?: unknown}} */ (value)?.invites;
  return Array.isArray(list) ? /** @type {InviteView[]} */ (list) : [];
}

/**
 * @param {InviteView | null} a
 * @param {InviteView | null} b
 */
export function sameInvite(a, b) {
  if (!a || !b) return a === b;
  return (
    a.id === b.id && a.status === b.status && a.expires_at === b.expires_at && a.uses === b.uses && a.code === b.code
  );
}

/**
 * The invite to show: the newest live one, else the newest of any status.
 * @param {InviteView[]} list
 * @returns {InviteView | null}
 */
export function bestInvite(list) {
  const live = list.filter((inv) => inv.status === "live");
  const pool = live.length ? live : list;
  return pool.reduce(
    (a, b) => (a === null || b.expires_at > a.expires_at ? b : a),
    /** @type {InviteView | null} */ (null),
  );
}

/**
 * The line above the invite: what to do with it, or why it no longer works.
 * @param {InviteView} inv
 * @param {boolean} [encrypted]  an encrypted room's: the link is the fast way, the code is read aloud
 */
export function introText(inv, encrypted = false) {
  if (inv.status !== "live") return STATUS_TEXT[inv.status] ?? "This invite no longer works.";
  let intro = encrypted
    ? "Send the link or show the QR code; or read the code aloud."
    : "Send the link, show the QR code, or read out the code.";
  if (inv.max_uses != null) {
    const left = Math.max(0, inv.max_uses - (inv.uses ?? 0));
    intro += ` It lets ${left === 1 ? "one more person" : `${left} more people`} join.`;
  }
  return intro;
}

/**
 * The expiry line: its text, its title, whether it warns.
 * @param {InviteView} inv
 * @param {number} nowS  seconds since the epoch
 */
export function expiryText(inv, nowS) {
  const at = new Date(inv.expires_at * 1000);
  const left = inv.expires_at - nowS;
  let text;
  if (inv.status === "revoked") text = "Revoked";
  else if (inv.status === "exhausted") text = "Used up";
  else if (inv.status === "expired" || left <= 0) text = `Expired ${formatFull(at)}`;
  else text = `Expires in ${formatDuration(left)}`;
  return { text, title: `Expires ${formatFull(at)}`, warn: inv.status !== "live" || left < 3600 };
}

/**
 * @typedef {object} OwnerHandlers
 * @property {boolean} busy                a request is under way: every button disabled
 * @property {boolean} confirming          Revoke was pressed: ask before revoking
 * @property {(inv: InviteView) => void} extend
 * @property {(asking: boolean) => void} askRevoke
 * @property {(inv: InviteView) => void} revoke
 * @property {() => void} create
 */

/**
 * The owner's buttons under the invite.
 * @param {InviteView | null} inv
 * @param {OwnerHandlers} on
 * @returns {HTMLElement}
 */
export function ownerActions(inv, on) {
  const live = inv?.status === "live";
  const row = h("div", { class: "btn-row owner-actions", role: "group", "aria-label": "Manage the invite" });
  if (inv && inv.status !== "revoked") {
    row.append(
      h("button", {
        type: "button",
        class: "btn",
        disabled: on.busy,
        title: "Make this invite valid for 24 hours from now",
        onclick: () => on.extend(inv),
        text: "Extend 24 h",
      }),
    );
  }
  if (inv && live && on.confirming) return revokeConfirm(inv, on);
  if (inv && live) {
    row.append(
      h("button", {
        type: "button",
        class: "btn danger",
        disabled: on.busy,
        title: "Stop this link and code from working",
        "data-action": "revoke",
        onclick: () => on.askRevoke(true),
        text: "Revoke",
      }),
    );
  }
  row.append(
    h("button", {
      type: "button",
      class: live ? "btn" : "btn primary",
      disabled: on.busy,
      title: "Create a fresh link and code",
      onclick: () => on.create(),
      text: "New invite",
    }),
  );
  return row;
}

/**
 * "Revoke this invite?" and its two answers.
 * @param {InviteView} inv
 * @param {OwnerHandlers} on
 */
function revokeConfirm(inv, on) {
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
        disabled: on.busy,
        onclick: () => on.askRevoke(false),
        text: "Keep the invite",
      }),
      h("button", {
        type: "button",
        class: "btn danger",
        "data-action": "confirm-revoke",
        disabled: on.busy,
        onclick: () => on.revoke(inv),
        text: "Yes, revoke",
      }),
    ]),
  ]);
}

/**
 * Listen to a room for what changes its invite panel: the owner replaced the invites
 * ("invites", after a removal: e2e/invite-reset.js), or a `keys` frame brought a new room
 * key (fetched first: the link carries the current key, and codes open only with it). A
 * frame that leaves the key as it was (someone published an identity key) changes
 * nothing: redrawing then would only move the QR code under a reader's eyes.
 * @param {EventTarget & {e2e?: {keyText: string, fetchKeys?: () => Promise<unknown>} | null}} room
 * @param {{invites: () => void, rekeyed: () => Promise<void>, drawnKey: () => string}} on
 *   drawnKey: the key the shown link was drawn with
 * @returns {() => void}  stops listening
 */
export function followInvites(room, on) {
  const keys = () =>
    void Promise.resolve(room.e2e?.fetchKeys?.()).then(() => {
      if ((room.e2e?.keyText ?? "") !== on.drawnKey()) return on.rekeyed();
    });
  room.addEventListener("invites", on.invites);
  room.addEventListener("keys", keys);
  return () => {
    room.removeEventListener("invites", on.invites);
    room.removeEventListener("keys", keys);
  };
}

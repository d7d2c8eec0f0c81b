// A member's identity key in the people panel (docs/protocol.md, "Safety codes"): the
// safety code this device and the member share (six groups of five digits, the same on
// both screens), a verified mark, "Mark as verified", and a note when the member's key
// changed -- loud (role="alert") when it was a verified member's.

import { h } from "./dom.js";

/** @typedef {import("../e2e/member-list.js").KeyView} KeyView */
/** @typedef {import("../e2e/member-list.js").MemberList} MemberList */

/**
 * What the rendered line depends on (the panel redraws when it changes).
 * @param {MemberList | null} members
 * @param {string} id
 */
export function keyStamp(members, id) {
  if (!members) return "";
  const v = members.view(id);
  return `${v.code}|${v.verified}|${v.note}`;
}

/**
 * @param {{id: string, name: string}} person
 * @param {KeyView} view
 * @param {(what: "verify" | "dismiss") => void} act
 */
export function keyLine(person, view, act) {
  const parts = [];
  if (view.note) {
    parts.push(
      h("p", {
        class: view.loud ? "key-note key-warning" : "key-note",
        role: view.loud ? "alert" : "status",
        "data-testid": view.loud ? "key-warning" : "key-changed",
        text: view.note,
      }),
    );
  }
  if (!view.code) {
    parts.push(h("p", { class: "muted small", text: "No security key yet: it comes when they next open the room." }));
    return h("div", { class: "person-key" }, parts);
  }
  parts.push(
    h("p", { class: "safety" }, [
      h("span", { class: "muted small", text: "Safety code " }),
      h("code", { class: "safety-code", "data-testid": "safety-code", text: view.code }),
      view.verified ? h("span", { class: "verified-mark", "data-testid": "verified-mark", text: "✓ Verified" }) : null,
    ]),
  );
  const buttons = [];
  if (!view.verified) {
    buttons.push(
      h("button", {
        type: "button",
        class: "btn subtle small-btn",
        text: "Mark as verified",
        "aria-label": `Mark ${person.name} as verified: the safety code is the same on their screen`,
        onclick: () => act("verify"),
      }),
    );
  }
  if (view.changed) {
    buttons.push(
      h("button", { type: "button", class: "btn subtle small-btn", text: "Dismiss", onclick: () => act("dismiss") }),
    );
  }
  if (buttons.length) parts.push(h("div", { class: "person-actions" }, buttons));
  return h("div", { class: "person-key" }, parts);
}

/**
 * The owner's setting of what new members can read (docs/protocol.md, "Key rotation").
 * @param {"all" | "joined"} value
 * @param {(value: "all" | "joined") => void} change
 */
export function historyControl(value, change) {
  const select = /** @type {HTMLSelectElement} */ (
    h("select", { id: "history-setting", "data-testid": "history-setting" }, [
      h("option", { value: "all", text: "All history" }),
      h("option", { value: "joined", text: "From when they join" }),
    ])
  );
  select.value = value;
  select.addEventListener("change", () => change(select.value === "joined" ? "joined" : "all"));
  return h("p", { class: "history-setting" }, [
    h("label", { for: "history-setting", class: "muted small", text: "New members can read " }),
    select,
  ]);
}

// The room header's background-badge toggle (new-message-badge.js): off by default; on,
// new messages from others while the tab is hidden put "(N) " before the title, with a
// short chime, until the tab is visible again, and show a system notification if the
// person allows them (asked on the click that turns it on: notify.js). One button,
// aria-pressed, remembered.

import { makeChime, NewMessageBadge } from "../new-message-badge.js";
import { askNotificationPermission, notifyMessage } from "../notify.js";
import { h, ICONS, icon } from "./dom.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */

const LABEL = "Alert me to new messages while this tab is in the background";

/** @returns {Storage | null} */
function localStore() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage disabled: the toggle works for this page only
  }
}

/**
 * The toggle for a room, wired to its new messages and the page's visibility.
 * @param {RoomLike} room
 * @returns {{button: HTMLButtonElement, stop: () => void}}
 */
export function badgeToggle(room) {
  /** @type {(() => void) | null} */
  let chime = null;
  const badge = new NewMessageBadge({ page: document, storage: localStore(), ding: () => chime?.() });
  const button = h("button", { type: "button", class: "icon-btn badge-toggle", "aria-label": LABEL }, [
    icon(ICONS.bell),
  ]);
  const show = () => {
    button.setAttribute("aria-pressed", badge.enabled ? "true" : "false");
    button.title = badge.enabled
      ? "New messages show in the tab title while you are away (on). Click to turn off."
      : "Show new messages in the tab title, with a sound, while you are away (off). Click to turn on.";
  };
  show();
  button.addEventListener("click", () => {
    badge.enabled = !badge.enabled;
    // Opt-in, on this click: system notifications too, where the browser has them.
    if (badge.enabled) askNotificationPermission();
    // Made on the click: browsers let a page start sound only after a gesture.
    if (badge.enabled && !chime) {
      try {
        chime = makeChime();
      } catch {
        chime = null; // no sound: the title still says it
      }
    }
    show();
  });
  /** @param {Event} event */
  const onIncoming = (event) => {
    badge.message();
    if (!badge.enabled || !document.hidden) return;
    const m = /** @type {CustomEvent<import("../chat-log.js").ChatMessage>} */ (event).detail;
    const info = room.roomInfo;
    if (info) void notifyMessage(m, { id: info.id, name: info.name });
  };
  const onVisibility = () => badge.visibilityChanged();
  room.addEventListener("incoming", onIncoming);
  document.addEventListener("visibilitychange", onVisibility);
  return {
    button,
    stop: () => {
      room.removeEventListener("incoming", onIncoming);
      document.removeEventListener("visibilitychange", onVisibility);
      badge.clear();
    },
  };
}

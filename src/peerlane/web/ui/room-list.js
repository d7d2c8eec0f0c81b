// The home page's list of the rooms this device is in (device-rooms.js): name, when the
// last message came, how many are unread. Shown at once from what the device kept, then
// brought up to date from the server room by room (the messages past the read position),
// so the installed app opens where people come back to, online or not.

import { getMessages } from "../api.js";
import { listRooms, unreadCount, updateRoom } from "../device-rooms.js";
import { isEnvelope } from "../e2e/scheme.js";
import { SHARED_PARAM } from "../shared-files.js";
import { h } from "./dom.js";
import { roomPath } from "./nav.js";

/** @typedef {import("../device-rooms.js").KeptRecord} KeptRecord */

/** Unread messages counted at most (one history page). */
const UNREAD_PAGE = 50;

/**
 * The "Your rooms" section, or null when this device is in no room. With `sharing` (files
 * shared from another app wait: shared-files.js), it asks which room to send them to, and
 * each room's link says so (?shared=1), for the room page to take them.
 * @param {{sharing?: number}} [options]
 * @returns {Promise<HTMLElement | null>}
 */
export async function roomList({ sharing = 0 } = {}) {
  const rooms = await listRooms().catch(() => []);
  if (!rooms.length && !sharing) return null;
  const list = h("ul", { class: "room-list", "data-testid": "room-list" });
  for (const record of rooms) {
    const row = h("li", { class: "room-list-item" });
    show(row, record, sharing);
    list.append(row);
    void refresh(row, record, sharing);
  }
  const what = sharing === 1 ? "the shared file" : `the ${sharing} shared files`;
  return h("section", { class: "card stack", "aria-labelledby": "rooms-title" }, [
    h("h2", { id: "rooms-title", class: "card-title", text: sharing ? `Send ${what} to…` : "Your rooms" }),
    rooms.length ? list : h("p", { role: "status", text: `Create or join a room below, then share ${what} again.` }),
  ]);
}

/**
 * A room's name as listed: never a sealed one (a copy kept before it could be opened).
 * @param {string | undefined} name
 */
function shownName(name) {
  return isEnvelope(name) ? "Encrypted room" : name || "Room";
}

/**
 * @param {HTMLElement} row
 * @param {KeptRecord} record
 * @param {number} sharing
 */
function show(row, record, sharing) {
  const unread = unreadCount(record);
  const when = record.last_at ? new Date(record.last_at * 1000) : null;
  row.dataset.roomId = record.id;
  row.replaceChildren(
    h("a", { href: roomPath(record.id) + (sharing ? `?${SHARED_PARAM}=1` : ""), class: "room-list-link" }, [
      h("span", { class: "room-list-name", text: shownName(record.view?.room.name) }),
      when
        ? h("time", { class: "room-list-when muted", datetime: when.toISOString(), text: lastTime(when) })
        : h("span", { class: "room-list-when muted", text: "no messages yet" }),
      unread
        ? h("span", {
            class: "room-list-unread",
            "data-testid": "unread",
            "aria-label": `${unread >= UNREAD_PAGE ? `${UNREAD_PAGE} or more` : unread} unread`,
            text: unread >= UNREAD_PAGE ? `${UNREAD_PAGE}+` : String(unread),
          })
        : null,
    ]),
  );
}

/**
 * Ask the server for the messages past the read position; show the room again with them.
 * Unreachable, or no longer a member: the kept copy stays as shown.
 * @param {HTMLElement} row
 * @param {KeptRecord} record
 * @param {number} sharing
 */
async function refresh(row, record, sharing) {
  try {
    const page = await getMessages(record.id, { after: record.read_seq, limit: UNREAD_PAGE });
    const updated = await updateRoom(record.id, null, page.messages);
    if (updated && row.isConnected) show(row, updated, sharing);
  } catch {
    // offline, or the room is gone: what the device kept is what there is
  }
}

/**
 * "14:05" today, "Mon 14:05" this week, "3 Dec" before.
 * @param {Date} when
 */
function lastTime(when) {
  const age = Date.now() - when.getTime();
  const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (when.toDateString() === new Date().toDateString()) return time;
  if (age < 6 * 86_400_000) return `${when.toLocaleDateString([], { weekday: "short" })} ${time}`;
  return when.toLocaleDateString([], { day: "numeric", month: "short" });
}

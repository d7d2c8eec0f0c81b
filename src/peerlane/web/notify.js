// System notifications for a new message or file offer while peerlane is in the
// background (opt-in: the room header's bell, ui/badge-toggle.js, asks for the permission
// on its click). Shown through the service worker's registration where there is one
// (phones allow no other way; a click there focuses or opens the room: sw.js), else
// with `new Notification`. Feature-detected: without the Notification API, the bell keeps
// to the title badge and chime.

/** @typedef {import("./chat-log.js").ChatMessage} ChatMessage */

/**
 * What a notification says of a message: the sender and room as the title, the words (or
 * the file offered) as the body; null for what is not news (a file message other than an
 * offer).
 * @param {ChatMessage} m
 * @param {string} roomName
 * @returns {{title: string, body: string} | null}
 */
export function notificationFor(m, roomName) {
  const title = `${m.sender_name || "Someone"} in ${roomName || "a room"}`;
  if (m.kind === "text") {
    const words = typeof m.body === "string" ? m.body : "";
    return { title, body: words.length > 140 ? `${words.slice(0, 139)}…` : words };
  }
  const body = /** @type {{op?: string, name?: string} | null} */ (m.body);
  if (m.kind === "file" && body?.op === "offer") return { title, body: `Offers a file: ${body.name ?? "a file"}` };
  return null;
}

/** The permission, or "unsupported". @returns {NotificationPermission | "unsupported"} */
export function notificationPermission() {
  return typeof Notification === "function" ? Notification.permission : "unsupported";
}

/** Ask for the permission (on a click: browsers allow it only then). */
export function askNotificationPermission() {
  if (notificationPermission() === "default") void Notification.requestPermission().catch(() => {});
}

/**
 * Show a notification for a message of a room, if the person allowed them.
 * @param {ChatMessage} m
 * @param {{id: string, name: string}} room
 */
export async function notifyMessage(m, room) {
  const what = notificationFor(m, room.name);
  if (!what || notificationPermission() !== "granted") return;
  const options = {
    body: what.body,
    tag: `peerlane-${room.id}`, // one per room: a newer message replaces the last
    icon: "/static/icons/peerlane-192.png",
    data: { url: `/r/${encodeURIComponent(room.id)}` },
  };
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    if (registration?.active) await registration.showNotification(what.title, options);
    else new Notification(what.title, options);
  } catch {
    // refused meanwhile, or no way to show one here: the title badge still says it
  }
}

// In-app navigation without a full page load: app.js listens and renders the route.

export const NAVIGATE = "pl:navigate";

/**
 * Go to a path of the app (pushState, or replaceState with `replace`).
 * @param {string} path
 * @param {{replace?: boolean}} [options]
 */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  window.dispatchEvent(new Event(NAVIGATE));
}

/**
 * The path of a room's page.
 * @param {string} roomId
 */
export const roomPath = (roomId) => `/r/${encodeURIComponent(roomId)}`;

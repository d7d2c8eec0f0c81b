// The installable app's page side: registers the service worker (sw.js, served at /sw.js)
// and offers a new version when one has installed in the background: "A new version of
// peerlane is ready — Reload". The click tells the waiting worker to take over; every page
// it controls then reloads, whole, from the new version (never half-old, half-new).
// Feature-detected: without service workers the app works as before, online only.

import { h } from "./ui/dom.js";

/** The prompt's element id (one per page). */
export const UPDATE_PROMPT_ID = "update-prompt";

/**
 * Register the service worker and watch for new versions.
 * @param {ServiceWorkerContainer | undefined} container navigator.serviceWorker
 */
export function startPwa(container = navigator.serviceWorker) {
  if (!container) return;
  const hadController = Boolean(container.controller);
  let reloading = false;
  container.addEventListener("controllerchange", () => {
    // The first install claims pages loaded from the network: nothing to reload then.
    if (!hadController || reloading) return;
    reloading = true;
    location.reload();
  });
  // After the page's load: installing fetches every file, which must not compete with it.
  if (document.readyState === "complete") register(container);
  else window.addEventListener("load", () => register(container), { once: true });
}

/** @param {ServiceWorkerContainer} container */
function register(container) {
  container.register("/sw.js", { scope: "/" }).then(
    (registration) => {
      if (registration.waiting && container.controller) offerUpdate(registration.waiting);
      registration.addEventListener("updatefound", () => {
        const incoming = registration.installing;
        incoming?.addEventListener("statechange", () => {
          // Installed while another version controls this page: an update, ready.
          if (incoming.state === "installed" && container.controller) offerUpdate(incoming);
        });
      });
      // A page left open for days still learns of new versions when shown again.
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") registration.update().catch(() => {});
      });
    },
    () => {}, // no worker (private mode, a refused registration): online only, as before
  );
}

/**
 * Show the "new version" prompt (once).
 * @param {ServiceWorker} waiting
 */
function offerUpdate(waiting) {
  if (document.getElementById(UPDATE_PROMPT_ID)) return;
  const prompt = h("div", { id: UPDATE_PROMPT_ID, class: "update-prompt", role: "status" }, [
    h("span", { text: "A new version of peerlane is ready." }),
    h("button", {
      type: "button",
      class: "btn primary",
      text: "Reload",
      onclick: () => waiting.postMessage({ type: "take-over" }),
    }),
  ]);
  document.body.append(prompt);
}

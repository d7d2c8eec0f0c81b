// Entry point: route on location.pathname and render the page's custom element.
//   /                 <pl-home-page>   create a room, or join one by code
//   /join#<token>     <pl-join-page>   join with an invite link
//   /r/{room_id}      <pl-room-page>   the room
//   /share            <pl-share-page>  share files by link (upload, then the link)
//   /s#<token>        <pl-share-download-page>  the files behind a share link
//   /diagnostics      <pl-diagnostics-page>  which connections this network allows
//
// Loading: this module imports only what the home and join pages need (a handful of
// small modules). The room page and the share pages -- most of the client: chat,
// signaling, the mesh, file transfers -- load with a dynamic import() when first shown.
// The home and join pages start loading the room page as soon as they are on screen, so
// it is there by the time the person has clicked (or, for an invite link that joins at
// once, join-now.js, about when the join is answered). The server's HTML shell preloads each
// route's modules and names the ones to preload next (peerlane/server/web_pages.py,
// shell_html), so no page waits for an import chain level after level.

import { busyMain, h } from "./ui/dom.js";
import "./ui/home-page.js";
import { startPwa } from "./pwa.js";
import { NAVIGATE, navigate } from "./ui/nav.js";

/** The pages loaded on first use: custom element name → its module. */
const LAZY = /** @type {Record<string, () => Promise<unknown>>} */ ({
  "pl-room-page": () => import("./ui/room-page.js"),
  "pl-share-page": () => import("./ui/share-page.js"),
  "pl-share-download-page": () => import("./ui/share-download-page.js"),
  "pl-diagnostics-page": () => import("./ui/diagnostics-page.js"),
});

/** Loads under way or done, by element name (a failed load is forgotten, to retry). */
const loads = new Map(/** @type {[string, Promise<unknown>][]} */ ([]));

/**
 * Load the module that defines a page's element (once).
 * @param {string} tag
 * @returns {Promise<unknown>}
 */
function load(tag) {
  let pending = loads.get(tag);
  if (!pending) {
    const importer = LAZY[tag];
    pending = importer ? importer() : Promise.resolve();
    pending.catch(() => loads.delete(tag));
    loads.set(tag, pending);
  }
  return pending;
}

/**
 * Preload the modules a <meta name="peerlane:…"> of the HTML shell lists (the modules of
 * the room page's graph that this page has not loaded): all at once, which saves the
 * import chain's round trips, level after level.
 * @param {string} name
 */
function preloadListed(name) {
  const listed = document.querySelector(`meta[name="peerlane:${name}"]`)?.getAttribute("content") ?? "";
  for (const href of listed.split(/\s+/)) {
    if (!href || document.querySelector(`link[rel="modulepreload"][href="${CSS.escape(href)}"]`)) continue;
    // Low priority: the person's click ("Join room", "Create room") goes first.
    document.head.append(h("link", { rel: "modulepreload", href, fetchpriority: "low" }));
  }
}

/** How long the home and join pages wait before preloading the rest of the room page. */
const REST_OF_ROOM_DELAY_MS = 800;

/**
 * Start loading the room page: from the home and join pages it is where the person goes
 * next. First what it needs to connect ("peerlane:next": the room page's static graph);
 * the rest (its elements, the file-transfer engine: "peerlane:later") only after a
 * while on this page. Someone who clicks at once would otherwise have those compiling
 * while the room connects; the room page loads them itself once its first links are up.
 * Called once this page is in the DOM.
 */
function preloadRoomPage() {
  if (loads.has("pl-room-page")) return;
  preloadListed("next");
  const page = location.pathname;
  // Once loaded, the room page gets its local databases open (the first open is slow).
  load("pl-room-page").then(
    (module) => {
      /** @type {{prepare?: () => void}} */ (module).prepare?.();
      setTimeout(() => {
        if (location.pathname === page) preloadListed("later");
      }, REST_OF_ROOM_DELAY_MS);
    },
    () => {},
  );
}

const root = /** @type {HTMLElement} */ (document.getElementById("app"));

/** The path of the page on screen, so hash-only changes do not re-render it. */
let shown = "";
/** Counts renders, so a page whose module arrives late is not shown over a newer one. */
let generation = 0;

function route() {
  const path = location.pathname;
  // /join and /s carry their secret in the fragment: a new one is a new page.
  if (path === shown && path !== "/join" && path !== "/s") return;
  shown = path;
  generation += 1;
  const match = /^\/r\/([^/]+)\/?$/.exec(path);
  if (path === "/" || path === "/index.html") {
    show("pl-home-page");
    preloadRoomPage();
  } else if (path === "/join") {
    show("pl-join-page");
    preloadRoomPage();
  } else if (path === "/share" || path === "/share/") {
    show("pl-share-page");
  } else if (path === "/s" || path === "/s/") {
    show("pl-share-download-page");
  } else if (path === "/diagnostics" || path === "/diagnostics/") {
    show("pl-diagnostics-page");
  } else if (match) {
    show("pl-room-page", { "room-id": decodeURIComponent(/** @type {string} */ (match[1])) });
  } else {
    document.title = "Not found — peerlane";
    root.replaceChildren(
      h("main", { class: "entry", id: "main" }, [
        h("div", { class: "card narrow stack" }, [
          h("h1", { class: "card-title", text: "Nothing here" }),
          h("p", { text: "This address isn't a peerlane page." }),
          h("p", {}, [h("a", { href: "/", class: "btn primary", text: "Go to the home page" })]),
        ]),
      ]),
    );
  }
}

/**
 * Render a page's element, after loading its module if it is not defined yet.
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 */
function show(tag, attributes = {}) {
  const render = () => {
    const page = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) page.setAttribute(name, value);
    root.replaceChildren(page);
  };
  if (customElements.get(tag)) {
    render();
    return;
  }
  const mine = generation;
  root.replaceChildren(busyMain("Loading…"));
  load(tag).then(
    () => {
      if (mine === generation) render();
    },
    () => {
      if (mine !== generation) return;
      document.title = "Can't load the page — peerlane";
      root.replaceChildren(
        h("main", { class: "entry", id: "main" }, [
          h("div", { class: "card narrow stack" }, [
            h("h1", { class: "card-title", text: "Can't load this page" }),
            h("p", { role: "alert", text: "Part of the app didn't download. Check your connection, then reload." }),
            h("p", { class: "btn-row" }, [
              h("button", { type: "button", class: "btn primary", text: "Reload", onclick: () => location.reload() }),
              h("a", { href: "/", class: "btn", text: "Home" }),
            ]),
          ]),
        ]),
      );
    },
  );
}

// Same-origin links to app pages navigate in place (no reload, no new room connection).
document.addEventListener("click", (event) => {
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  ) {
    return;
  }
  const link = /** @type {Element} */ (event.target).closest?.("a[href]");
  if (!(link instanceof HTMLAnchorElement) || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href);
  if (url.origin !== location.origin || /^\/(api|static|app)\//.test(url.pathname)) return;
  if (url.pathname === location.pathname && url.hash) return; // in-page anchor
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener("popstate", route);
window.addEventListener(NAVIGATE, route);
route();
startPwa();

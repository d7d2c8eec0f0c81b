// Entry point: route on location.pathname and render the page's custom element.
//   /                 <pl-home-page>   create a room, or join one by code
//   /join#<token>     <pl-join-page>   join with an invite link
//   /r/{room_id}      <pl-room-page>   the room
//   /share            <pl-share-page>  share files by link (upload, then the link)
//   /s#<token>        <pl-share-download-page>  the files behind a share link

import { h } from "./ui/dom.js";
import "./ui/home-page.js";
import { NAVIGATE, navigate } from "./ui/nav.js";
import "./ui/room-page.js";
import "./ui/share-page.js";

const root = /** @type {HTMLElement} */ (document.getElementById("app"));

/** The path of the page on screen, so hash-only changes do not re-render it. */
let shown = "";

function route() {
  const path = location.pathname;
  // /join and /s carry their secret in the fragment: a new one is a new page.
  if (path === shown && path !== "/join" && path !== "/s") return;
  shown = path;
  const match = /^\/r\/([^/]+)\/?$/.exec(path);
  /** @type {HTMLElement} */
  let page;
  if (path === "/" || path === "/index.html") {
    page = document.createElement("pl-home-page");
  } else if (path === "/join") {
    page = document.createElement("pl-join-page");
  } else if (path === "/share" || path === "/share/") {
    page = document.createElement("pl-share-page");
  } else if (path === "/s" || path === "/s/") {
    page = document.createElement("pl-share-download-page");
  } else if (match) {
    page = document.createElement("pl-room-page");
    page.setAttribute("room-id", decodeURIComponent(/** @type {string} */ (match[1])));
  } else {
    document.title = "Not found — peerlane";
    page = h("main", { class: "entry", id: "main" }, [
      h("div", { class: "card narrow stack" }, [
        h("h1", { class: "card-title", text: "Nothing here" }),
        h("p", { text: "This address isn't a peerlane page." }),
        h("p", {}, [h("a", { href: "/", class: "btn primary", text: "Go to the home page" })]),
      ]),
    ]);
  }
  root.replaceChildren(page);
}

// Same-origin links to app pages navigate in place (no reload, no new room connection).
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  const link = /** @type {Element} */ (event.target).closest?.("a[href]");
  if (!(link instanceof HTMLAnchorElement) || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/static/")) return;
  if (url.pathname === location.pathname && url.hash) return; // in-page anchor
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener("popstate", route);
window.addEventListener(NAVIGATE, route);
route();

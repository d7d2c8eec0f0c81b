// The service worker: makes peerlane an installable app whose pages open with no server.
// Served at /sw.js by the server (peerlane/server/pwa.py), which puts ahead of this file
// `self.PEERLANE_BUILD = {version, assets, files, shells}`: the client's version (a hash of
// every file and shell), where the pages load this version's files from
// (`/app/<files' version>/`, immutable: server/static.py) and the URLs to keep.
//
// One cache per version, filled whole at install (the shells and every static file), and
// every page and module served from the cache of the version that controls the page: a
// page is never half-old, half-new. A new version installs in the background and waits;
// the page offers "New version — reload" (pwa.js), whose click tells the waiting worker to
// take over (message "take-over"), and the pages reload on the controller change. The
// old version's cache goes when the new one activates.
//
// POST /share-target (the manifest's share_target, the system share sheet): its files are
// kept for the page (shared-files.js) and the person goes on to /?shared=N to choose a room.
//
// Not touched: the API, the WebSocket, anything not GET, other origins, and /join (its
// shell depends on the navigation's Sec-Fetch-Site, which only the browser's own request
// carries; joining needs the server anyway).

/** @type {any} */
const worker = self;
/** @type {{version: string, assets: string, files: string[], shells: string[]}} */
const build = worker.PEERLANE_BUILD;
const CACHE_PREFIX = "peerlane-";
const cacheName = CACHE_PREFIX + build.version;
const SHARE_TARGET = "/share-target";
const STABLE = "/static/"; // the same files by stable names (the manifest, icons)

/**
 * The shell kept for a page's path (the URLs pwa.py names), or null for anything else.
 * @param {string} path
 * @returns {string | null}
 */
function shellFor(path) {
  if (path === "/" || path === "/index.html") return "/";
  if (/^\/r\/[^/]+\/?$/.test(path)) return "/r/-";
  if (path === "/share" || path === "/share/" || path === "/s" || path === "/s/") return "/share";
  return null;
}

worker.addEventListener("install", (/** @type {any} */ event) => {
  event.waitUntil(
    caches.open(cacheName).then(async (cache) => {
      // Fresh copies, whatever the HTTP cache holds: the version's hash names these bytes.
      const urls = [...build.shells, ...build.files];
      await cache.addAll(urls.map((url) => new Request(url, { cache: "reload" })));
    }),
  );
});

worker.addEventListener("activate", (/** @type {any} */ event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== cacheName) await caches.delete(name);
      }
      // The first version takes the pages already open (they were loaded from the network).
      await worker.clients.claim();
    })(),
  );
});

worker.addEventListener("message", (/** @type {any} */ event) => {
  if (event.data?.type === "take-over") worker.skipWaiting();
});

// A notification's click (notify.js): the room's page, focused if open, else opened.
worker.addEventListener("notificationclick", (/** @type {any} */ event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url ?? "/", location.origin).href;
  event.waitUntil(
    (async () => {
      const open = await worker.clients.matchAll({ type: "window", includeUncontrolled: true });
      const same = open.find((/** @type {any} */ c) => c.url === url);
      if (same) return same.focus();
      return worker.clients.openWindow(url);
    })(),
  );
});

worker.addEventListener("fetch", (/** @type {any} */ event) => {
  /** @type {Request} */
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (request.method === "POST" && url.pathname === SHARE_TARGET) {
    event.respondWith(receiveShare(request));
    return;
  }
  if (request.method !== "GET") return;
  if (url.pathname.startsWith(build.assets)) {
    event.respondWith(fromCache(url.pathname, request));
  } else if (url.pathname.startsWith(STABLE)) {
    event.respondWith(fromCache(build.assets + url.pathname.slice(STABLE.length), request));
  } else if (request.mode === "navigate") {
    const shell = shellFor(url.pathname);
    if (shell) event.respondWith(fromCache(shell, request));
  }
});

/**
 * The system share sheet's POST (the manifest's share_target): keep its files for the page
 * (shared-files.js) and send the person on to choose a room.
 * @param {Request} request
 * @returns {Promise<Response>}
 */
async function receiveShare(request) {
  const form = await request.formData();
  const files = form.getAll("files").filter((f) => typeof f !== "string");
  await keepShared(/** @type {File[]} */ (files));
  return Response.redirect(`/?shared=${files.length}`, 303);
}

/**
 * shared-files.js's keepSharedFiles, written out: a service worker may not import()
 * modules, and a classic one cannot import an ES module. The same database, store and key.
 * @param {File[]} files
 * @returns {Promise<void>}
 */
function keepShared(files) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("peerlane-shared", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("inbox");
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const tx = db.transaction("inbox", "readwrite");
      tx.objectStore("inbox").put({ files, at: Date.now() }, "pending");
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = tx.onabort = () => {
        db.close();
        reject(tx.error);
      };
    };
  });
}

/**
 * The version's copy of `key`; the network for what it does not hold (a file added since).
 * @param {string} key
 * @param {Request} request
 * @returns {Promise<Response>}
 */
async function fromCache(key, request) {
  const cache = await caches.open(cacheName);
  return (await cache.match(key)) ?? fetch(request);
}

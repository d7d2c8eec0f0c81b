// Opening an invite link joins at once when this browser remembers the person's name
// (they chose it on an earlier visit): no form and no click, the link leads straight
// into the room. Someone without a remembered name gets the join page's form.
//
// Only a link the person opened themselves joins at once: one typed or pasted into the
// address bar, opened from a QR code, a bookmark or another app, or followed from a
// peerlane page. The server tells (from the navigation's Sec-Fetch-Site header, in
// <meta name="peerlane:join">), because a page of another site could otherwise open a
// link to its own room in a new tab and have a returning visitor join it, name and
// all, without a click. Such a link, a reload, a page reached with Back or Forward and
// a new link opened on the same page (only the fragment changes) all get the form,
// with the name filled in: one click. A prerendered page (the browser guessing that
// the link will be opened) joins only once it is shown.
//
// Speed is why this is a module of its own: the /join page's HTML shell also runs it
// with a <script type="module" async> (peerlane/server/web_pages.py, shell_html), so the join
// request leaves as soon as these few small modules have arrived -- before the rest of
// the page has loaded or rendered -- and handOverSession opens the room's socket the
// moment the join is answered. The join page (home-page.js) takes the answer: it goes
// on to the room, or shows the form with what went wrong; a page left before the answer
// abandons the join (no socket; a new join is signed out of again).

import * as api from "./api.js";
import { handOverSession } from "./handover.js";
import { rememberedName } from "./ui/dom.js";

/** @typedef {import("./api.js").SessionOut} SessionOut */
/** @typedef {import("./api.js").RoomView} RoomView */
/**
 * @typedef {{getItem(key: string): string | null, setItem(key: string, value: string): void}} KeyValueStore
 */
/**
 * @typedef {{token: string, name: string, answer: Promise<SessionOut | RoomView>, abandon: () => void}} EarlyJoin
 *   abandon: the page that waited for the answer is gone; undo the join once answered
 */

/** <meta name="peerlane:join" content="at-once" | "ask">: the server's word on this link. */
export const JOIN_POLICY_META = "peerlane:join";

/**
 * The invite token in a /join#<token> address ("" when there is none); an encrypted
 * room's link carries its key after a dot (`#<token>.<key>`, e2e/room-keys.js), which
 * never goes to the server.
 * @param {string} hash  location.hash
 */
export function inviteToken(hash) {
  const raw = hash.replace(/^#/, "").split(".")[0];
  try {
    return decodeURIComponent(raw).trim();
  } catch {
    return raw.trim(); // a stray "%": the server says whether such a token exists
  }
}

// Which room each invite link opened here led to, so that opening the same link again
// (from a chat's history, say: a common way back into a room) returns to the room as
// the same participant, while this browser's session there lasts, instead of joining
// once more as a new one, with another invite use. Keyed by a fingerprint of the token,
// not the token: the link is a secret, kept out of storage as out of history.
const ROOMS_KEY = "peerlane.inviteRooms";
const ROOMS_KEPT = 50;
/** What getRoom answers when this browser is not (or no longer) in the room. */
const NOT_IN_THE_ROOM = new Set([401, 403, 404]);

/**
 * A fingerprint of an invite token: two 32-bit FNV-1a hashes (different offsets), hex.
 * Enough to tell 50 remembered links apart; no way back to the token.
 * @param {string} token
 */
export function tokenKey(token) {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** @param {KeyValueStore | undefined} storage @returns {[string, string][]} key → room id, oldest first */
function readRooms(storage) {
  try {
    const parsed = JSON.parse(storage?.getItem(ROOMS_KEY) ?? "[]");
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && typeof e[1] === "string",
    );
  } catch {
    return []; // no storage (private mode), or not ours: nothing remembered
  }
}

/** @param {KeyValueStore | undefined} storage @param {[string, string][]} rooms */
function writeRooms(storage, rooms) {
  try {
    storage?.setItem(ROOMS_KEY, JSON.stringify(rooms.slice(-ROOMS_KEPT)));
  } catch {
    /* private mode or full: the link joins anew next time */
  }
}

/** localStorage, or undefined where reading it throws (storage blocked). */
function localStore() {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

/**
 * Join a room with an invite token, or return to it when this browser's session from
 * an earlier join with the same link and the same name still lasts (what GET
 * /api/rooms/{id} answers: room, participant, mesh_limit). Another name is another
 * participant: that joins anew (a shared computer, say). The join itself may return too:
 * the server answers with this browser's own participant when its session for the room
 * lasts and the name is the same (SessionOut.returned). Throws ApiError as joinRoom does.
 * @param {{display_name: string, token: string}} options
 * @param {{join?: typeof api.joinRoom, getRoom?: typeof api.getRoom, storage?: KeyValueStore}} [deps]
 *   what tests replace (the API and localStorage by default)
 * @returns {Promise<{out: SessionOut | RoomView, returned: boolean}>}  returned: to an
 *   earlier session, not a new join
 */
export async function joinWithToken(options, deps = {}) {
  const { join = api.joinRoom, getRoom = api.getRoom } = deps;
  const storage = "storage" in deps ? deps.storage : localStore();
  const key = tokenKey(options.token);
  const rooms = readRooms(storage);
  const others = rooms.filter(([k]) => k !== key);
  const known = rooms.find(([k]) => k === key)?.[1];
  if (known) {
    try {
      const view = await getRoom(known);
      if (view.participant.name === options.display_name.trim()) {
        writeRooms(storage, [...others, [key, known]]); // the most recent, kept longest
        return { out: view, returned: true };
      }
    } catch (err) {
      const status = /** @type {{status?: unknown}} */ (err)?.status;
      if (typeof status !== "number" || !NOT_IN_THE_ROOM.has(status)) throw err;
      writeRooms(storage, others); // signed out, expired or gone: the link joins anew
    }
  }
  const out = await join(options);
  writeRooms(storage, [...others, [key, out.room.id]]);
  // The server also knows this browser by its session (by code, by another link): then
  // the join answers with the same participant, not a new one.
  return { out, returned: "returned" in out && out.returned === true };
}

/**
 * Join with an invite token at once, if there is a name to join with.
 * @param {{token: string, name: string, shown?: Promise<void>,
 *   join?: (options: {display_name: string, token: string}) => Promise<{out: SessionOut | RoomView, returned: boolean}>,
 *   handOver?: (out: SessionOut | RoomView) => void, leave?: (roomId: string) => Promise<unknown>}} options
 *   shown: resolves once the page is on screen; join, handOver, leave: what tests replace
 * @returns {EarlyJoin | null}  null when there is no token or no name
 */
export function joinNow({
  token,
  name,
  shown = Promise.resolve(),
  join = (options) => joinWithToken(options),
  handOver = handOverSession,
  leave = api.leaveRoom,
}) {
  name = name.trim();
  if (!token || !name) return null;
  // Read when the answer comes: abandoning after that changes nothing.
  let abandoned = false;
  const answer = shown
    .then(() => join({ display_name: name, token }))
    .then(({ out, returned }) => {
      // Abandoned: a new join is undone (signed out); a session from before stays.
      if (abandoned && !returned) leave(out.room.id).catch(() => {});
      else if (!abandoned) handOver(out);
      return out;
    });
  answer.catch(() => {}); // the join page reports it
  return {
    token,
    name,
    answer,
    abandon: () => {
      abandoned = true;
    },
  };
}

/**
 * Resolves once the document is shown: at once, or when a prerendered one is activated.
 * @param {{prerendering?: boolean, addEventListener: Document["addEventListener"]}} doc
 * @returns {Promise<void>}
 */
export function whenShown(doc) {
  if (!doc.prerendering) return Promise.resolve();
  return new Promise((resolve) => doc.addEventListener("prerenderingchange", () => resolve(), { once: true }));
}

/**
 * May this page load join at once? Only when the server says the person opened the link
 * themselves, and only on a plain navigation (not a reload, not Back or Forward).
 * @param {{querySelector: Document["querySelector"]}} doc
 * @param {string | undefined} navigationType  the navigation timing entry's type
 */
export function joinAtOnceAllowed(doc, navigationType) {
  const policy = doc.querySelector(`meta[name="${JOIN_POLICY_META}"]`)?.getAttribute("content");
  return policy === "at-once" && (navigationType ?? "navigate") === "navigate";
}

/** The join this page started when it loaded, until the join page takes it. */
let started = /** @type {EarlyJoin | null} */ (null);

/**
 * Start the join as a /join page loads, when it may (joinAtOnceAllowed) and there is a
 * remembered name.
 * @param {{pathname: string, hash: string, document: Parameters<typeof whenShown>[0] & Parameters<typeof joinAtOnceAllowed>[0],
 *   navigationType: string | undefined, name: string} & Partial<Parameters<typeof joinNow>[0]>} page
 * @returns {EarlyJoin | null}
 */
export function startEarlyJoin({ pathname, hash, document: doc, navigationType, ...rest }) {
  if (pathname !== "/join" || !joinAtOnceAllowed(doc, navigationType)) return null;
  started = joinNow({ ...rest, token: inviteToken(hash), shown: whenShown(doc) });
  return started;
}

/**
 * The join started when the page loaded, for this token (once), or null. One started
 * for another token (the fragment changed meanwhile) is abandoned.
 * @param {string} token
 * @returns {EarlyJoin | null}
 */
export function takeEarlyJoin(token) {
  const early = started;
  started = null;
  if (early && early.token !== token) early.abandon();
  return early && early.token === token ? early : null;
}

if (globalThis.document && globalThis.location) {
  const navigation = /** @type {PerformanceNavigationTiming | undefined} */ (
    performance.getEntriesByType?.("navigation")[0]
  );
  startEarlyJoin({
    pathname: location.pathname,
    hash: location.hash,
    document,
    navigationType: navigation?.type,
    name: rememberedName(),
  });
}

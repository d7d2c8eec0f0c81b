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
// with a <script type="module" async> (peerlane/server/app.py, shell_html), so the join
// request leaves as soon as these few small modules have arrived -- before the rest of
// the page has loaded or rendered -- and handOverSession opens the room's socket the
// moment the join is answered. The join page (home-page.js) takes the answer: it goes
// on to the room, or shows the form with what went wrong; a page left before the answer
// abandons the join (no socket, and this browser signs out of that room again).

import * as api from "../api.js";
import { rememberedName } from "./dom.js";
import { handOverSession } from "./handover.js";

/** @typedef {import("../api.js").SessionOut} SessionOut */
/**
 * @typedef {{token: string, name: string, answer: Promise<SessionOut>, abandon: () => void}} EarlyJoin
 *   abandon: the page that waited for the answer is gone; undo the join once answered
 */

/** <meta name="peerlane:join" content="at-once" | "ask">: the server's word on this link. */
export const JOIN_POLICY_META = "peerlane:join";

/**
 * The invite token in a /join#<token> address ("" when there is none).
 * @param {string} hash  location.hash
 */
export function inviteToken(hash) {
  const raw = hash.replace(/^#/, "");
  try {
    return decodeURIComponent(raw).trim();
  } catch {
    return raw.trim(); // a stray "%": the server says whether such a token exists
  }
}

/**
 * Join with an invite token at once, if there is a name to join with.
 * @param {{token: string, name: string, shown?: Promise<void>,
 *   join?: (options: {display_name: string, token: string}) => Promise<SessionOut>,
 *   handOver?: (out: SessionOut) => void, leave?: (roomId: string) => Promise<unknown>}} options
 *   shown: resolves once the page is on screen; join, handOver, leave: what tests replace
 * @returns {EarlyJoin | null}  null when there is no token or no name
 */
export function joinNow({
  token,
  name,
  shown = Promise.resolve(),
  join = api.joinRoom,
  handOver = handOverSession,
  leave = api.leaveRoom,
}) {
  name = name.trim();
  if (!token || !name) return null;
  let abandoned = false;
  let answered = false;
  const answer = shown
    .then(() => join({ display_name: name, token }))
    .then((out) => {
      answered = true;
      if (abandoned) leave(out.room.id).catch(() => {});
      else handOver(out);
      return out;
    });
  answer.catch(() => {}); // the join page reports it
  const abandon = () => {
    if (!answered) abandoned = true;
  };
  return { token, name, answer, abandon };
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
  const navigation = /** @type {PerformanceNavigationTiming | undefined} */ (performance.getEntriesByType?.("navigation")[0]);
  startEarlyJoin({
    pathname: location.pathname,
    hash: location.hash,
    document,
    navigationType: navigation?.type,
    name: rememberedName(),
  });
}

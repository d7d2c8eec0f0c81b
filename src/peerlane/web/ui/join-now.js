// Opening an invite link joins at once when this browser remembers the person's name
// (they chose it on an earlier visit): no form and no click, the link leads straight
// into the room. Someone without a remembered name gets the join page's form.
//
// Speed is why this is a module of its own: the /join page's HTML shell also runs it
// with a <script type="module" async> (peerlane/server/app.py, shell_html), so the join
// request leaves as soon as these few small modules have arrived -- before the rest of
// the page has loaded or rendered -- and handOverSession opens the room's socket the
// moment the join is answered. The join page (home-page.js) takes the answer: it goes
// on to the room, or shows the form with what went wrong.
//
// A prerendered page (the browser guessing that the link will be opened) joins only
// once it is shown: a guess must not put anyone in a room.

import * as api from "../api.js";
import { rememberedName } from "./dom.js";
import { handOverSession } from "./handover.js";

/** @typedef {import("../api.js").SessionOut} SessionOut */
/** @typedef {{token: string, name: string, answer: Promise<SessionOut>}} EarlyJoin */

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
 *   handOver?: (out: SessionOut) => void}} options
 *   shown: resolves once the page is on screen; join and handOver: what tests replace
 * @returns {EarlyJoin | null}  null when there is no token or no name
 */
export function joinNow({ token, name, shown = Promise.resolve(), join = api.joinRoom, handOver = handOverSession }) {
  name = name.trim();
  if (!token || !name) return null;
  const answer = shown
    .then(() => join({ display_name: name, token }))
    .then((out) => {
      handOver(out);
      return out;
    });
  answer.catch(() => {}); // the join page reports it
  return { token, name, answer };
}

/**
 * Resolves once the document is shown: at once, or when a prerendered one is activated.
 * @param {Document & {prerendering?: boolean}} doc
 * @returns {Promise<void>}
 */
export function whenShown(doc) {
  if (!doc.prerendering) return Promise.resolve();
  return new Promise((resolve) => doc.addEventListener("prerenderingchange", () => resolve(), { once: true }));
}

/** The join this page started when it loaded, until the join page takes it. */
let started = /** @type {EarlyJoin | null} */ (null);
if (globalThis.location?.pathname === "/join" && globalThis.document) {
  started = joinNow({ token: inviteToken(location.hash), name: rememberedName(), shown: whenShown(document) });
}

/**
 * The join started when the page loaded, for this token (once), or null.
 * @param {string} token
 * @returns {EarlyJoin | null}
 */
export function takeEarlyJoin(token) {
  const early = started;
  started = null;
  return early && early.token === token ? early : null;
}

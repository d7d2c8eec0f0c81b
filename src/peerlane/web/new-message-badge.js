// The background badge: while the tab is hidden, new messages from others put "(N) "
// before the page title (and, optionally, play a short sound), so a person in another
// tab sees that something came. Off by default; one toggle in the room turns it on, kept
// in localStorage. Cleared as soon as the tab is visible again. Pure apart from what it
// is handed (the document's title and visibility, a storage, a sound): node tests.

export const BADGE_KEY = "peerlane.backgroundBadge";

const PREFIX = /^\(\d+\) /u;

/**
 * The title with a count of new messages before it (none for 0).
 * @param {string} title  the page's title, with or without an earlier count
 * @param {number} count
 * @returns {string}
 */
export function badgedTitle(title, count) {
  const plain = title.replace(PREFIX, "");
  return count > 0 ? `(${count}) ${plain}` : plain;
}

/**
 * @typedef {object} BadgePage   what the badge needs of the page
 * @property {string} title
 * @property {boolean} hidden
 *
 * @typedef {object} BadgeStorage
 * @property {(key: string) => string | null} getItem
 * @property {(key: string, value: string) => void} setItem
 * @property {(key: string) => void} removeItem
 */

export class NewMessageBadge {
  /**
   * @param {{page: BadgePage, storage?: BadgeStorage | null, ding?: () => void}} options
   *   page: the document (title, hidden); storage: localStorage (none: not remembered);
   *   ding: a short sound for a message that comes while hidden.
   */
  constructor({ page, storage = null, ding = () => {} }) {
    this._page = page;
    this._storage = storage;
    this._ding = ding;
    /** New messages since the tab was hidden. */
    this.count = 0;
    /** @type {boolean} */
    this._enabled = false;
    try {
      this._enabled = storage?.getItem(BADGE_KEY) === "on";
    } catch {
      /* storage disabled: off */
    }
  }

  get enabled() {
    return this._enabled;
  }

  /** Turn the badge on or off (remembered); off clears the count. @param {boolean} on */
  set enabled(on) {
    this._enabled = on;
    try {
      if (on) this._storage?.setItem(BADGE_KEY, "on");
      else this._storage?.removeItem(BADGE_KEY);
    } catch {
      /* storage full or disabled: on for this page only */
    }
    if (!on) this.clear();
  }

  /** A new message from someone else came. */
  message() {
    if (!this._enabled || !this._page.hidden) return;
    this.count += 1;
    this._page.title = badgedTitle(this._page.title, this.count);
    try {
      this._ding();
    } catch {
      /* no sound: the title still says it */
    }
  }

  /** The tab is visible (again), or the badge is off: no count in the title. */
  clear() {
    if (this.count === 0 && !PREFIX.test(this._page.title)) return;
    this.count = 0;
    this._page.title = badgedTitle(this._page.title, 0);
  }

  /** The page's visibility changed (visibilitychange). */
  visibilityChanged() {
    if (!this._page.hidden) this.clear();
  }
}

/**
 * A short, quiet two-note chime through WebAudio; made on a click (browsers let a page
 * start sound only after a gesture). Null where there is no WebAudio.
 * @returns {(() => void) | null}
 */
export function makeChime() {
  const Ctx = globalThis.AudioContext;
  if (!Ctx) return null;
  const ctx = new Ctx();
  return () => {
    if (ctx.state === "suspended") void ctx.resume();
    const now = ctx.currentTime;
    for (const [i, freq] of [660, 880].entries()) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      const start = now + i * 0.09;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.08, start + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.18);
    }
  };
}

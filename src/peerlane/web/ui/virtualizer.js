// The geometry of a virtualized list: which items there are (by key), how tall each is,
// where each starts, which ones a viewport shows, and the anchor that keeps what the
// reader sees in place. Pure: no DOM (<pl-message-list> measures rows and scrolls).
//
// Row heights vary: measured heights are cached by key; rows never measured use an
// estimate, the mean of the first ESTIMATE_SAMPLES measured, then fixed (a moving
// estimate would shift every offset, and every offset would need recomputing). Offsets
// are recomputed only from the first index that changed, which keeps 10,000+ items cheap.

const ESTIMATE_SAMPLES = 60;

/** @template T */
export class Virtualizer {
  /**
   * @param {(item: T) => string} keyOf
   * @param {{defaultHeight?: number}} [options]  the estimate before anything is measured
   */
  constructor(keyOf, options = {}) {
    this._keyOf = keyOf;
    this._defaultHeight = options.defaultHeight ?? 72;
    /** @type {T[]} */
    this.items = [];
    /** @type {string[]} */
    this._keys = [];
    /** key → index. @type {Map<string, number>} */
    this._index = new Map();
    /** @type {Map<string, number>} */
    this._heights = new Map();
    this._measuredSum = 0;
    this._measuredCount = 0;
    /** offsets[i]: where item i starts; offsets[n]: the total height. */
    this._offsets = new Float64Array(1);
    /** Offsets are valid below this index; recomputed from here on. */
    this._dirtyFrom = 0;
    /** What the reader sees: an item and how far into it the viewport starts. @type {{key: string, delta: number} | null} */
    this.anchor = null;
  }

  get count() {
    return this._keys.length;
  }

  /** @param {number} i */
  keyAt(i) {
    return this._keys[i];
  }

  /** @param {string} key */
  indexOf(key) {
    return this._index.get(key);
  }

  /** @param {string} key */
  has(key) {
    return this._index.has(key);
  }

  /** @param {string} key */
  itemOf(key) {
    const i = this._index.get(key);
    return i === undefined ? undefined : this.items[i];
  }

  /** Forget everything (another list). */
  clear() {
    this.items = [];
    this._keys = [];
    this._index.clear();
    this._heights.clear();
    this._measuredSum = 0;
    this._measuredCount = 0;
    this._dirtyFrom = 0;
    this.anchor = null;
  }

  /**
   * The new list of items. Most changes append or touch the end (a new message, an ack):
   * keys and index are rebuilt only from the first item that differs (by identity).
   * @param {T[]} next
   */
  setItems(next) {
    const old = this.items;
    let same = 0;
    const n = Math.min(old.length, next.length);
    while (same < n && old[same] === next[same]) same++;
    for (let i = same; i < this._keys.length; i++) {
      const key = /** @type {string} */ (this._keys[i]);
      if (this._index.get(key) === i) this._index.delete(key);
    }
    this._keys.length = same;
    for (let i = same; i < next.length; i++) {
      const key = this._keyOf(/** @type {T} */ (next[i]));
      this._keys.push(key);
      this._index.set(key, i);
    }
    this.items = next;
    this._dirtyFrom = Math.min(this._dirtyFrom, same);
  }

  /** Height of an item never measured. */
  estimate() {
    return this._measuredCount ? this._measuredSum / this._measuredCount : this._defaultHeight;
  }

  /**
   * A measured height.
   * @param {string} key
   * @param {number} height
   * @returns {boolean} whether it changed
   */
  setHeight(key, height) {
    if (height <= 0) return false;
    const old = this._heights.get(key);
    if (old !== undefined && Math.abs(old - height) < 0.5) return false;
    this._heights.set(key, height);
    if (old === undefined && this._measuredCount < ESTIMATE_SAMPLES) {
      this._measuredCount++;
      this._measuredSum += height;
      this._dirtyFrom = 0; // the estimate moved
    } else {
      this._dirtyFrom = Math.min(this._dirtyFrom, this._index.get(key) ?? 0);
    }
    return true;
  }

  /**
   * Where item i starts (i = count: the total height).
   * @param {number} i
   */
  offset(i) {
    if (this._dirtyFrom !== Infinity) this._computeOffsets();
    return /** @type {number} */ (this._offsets[i]);
  }

  total() {
    return this.offset(this._keys.length);
  }

  /**
   * The first index whose item ends below `y`; count when none does.
   * @param {number} y
   */
  indexAt(y) {
    if (this._dirtyFrom !== Infinity) this._computeOffsets();
    let lo = 0;
    let hi = this._keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (/** @type {number} */ (this._offsets[mid + 1]) <= y) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The items a viewport from `top` (content coordinates), `height` tall, shows, with
   * `overscan` more on each side.
   * @param {number} top
   * @param {number} height
   * @param {number} overscan
   * @returns {[number, number]}  first and last index (last < first when empty)
   */
  range(top, height, overscan) {
    const start = this.indexAt(Math.max(0, top - overscan));
    const end = Math.min(this._keys.length - 1, this.indexAt(top + height + overscan));
    return [start, end];
  }

  /**
   * The newest item a viewport shows that `pick` accepts (searching from its bottom up).
   * @template R
   * @param {number} top  the viewport's top, content coordinates
   * @param {number} height
   * @param {(item: T) => R | undefined} pick  undefined: not this one
   * @returns {R | undefined}
   */
  newestInView(top, height, pick) {
    const n = this._keys.length;
    for (let i = Math.min(this.indexAt(top + height - 1), n - 1); i >= 0 && this.offset(i + 1) > top; i--) {
      const got = pick(/** @type {T} */ (this.items[i]));
      if (got !== undefined) return got;
    }
    return undefined;
  }

  /**
   * Remember what the viewport starting at `y` (content coordinates) shows.
   * @param {number} y
   */
  saveAnchor(y) {
    const n = this._keys.length;
    if (!n) {
      this.anchor = null;
      return;
    }
    const i = Math.min(this.indexAt(Math.max(0, y)), n - 1);
    this.anchor = { key: /** @type {string} */ (this._keys[i]), delta: y - this.offset(i) };
  }

  /**
   * Where the viewport must start to show the anchor as it was; null without one.
   * @returns {number | null}
   */
  anchorTop() {
    if (!this.anchor) return null;
    const i = this._index.get(this.anchor.key);
    return i === undefined ? null : this.offset(i) + this.anchor.delta;
  }

  _computeOffsets() {
    const n = this._keys.length;
    let from = Math.min(this._dirtyFrom, n);
    if (this._offsets.length !== n + 1) {
      const grown = new Float64Array(n + 1);
      grown.set(this._offsets.subarray(0, Math.min(from + 1, this._offsets.length, n + 1)));
      this._offsets = grown;
    }
    if (from >= this._offsets.length) from = 0;
    const est = this.estimate();
    let y = from === 0 ? 0 : /** @type {number} */ (this._offsets[from]);
    for (let i = from; i < n; i++) {
      this._offsets[i] = y;
      y += this._heights.get(/** @type {string} */ (this._keys[i])) ?? est;
    }
    this._offsets[n] = y;
    this._dirtyFrom = Infinity;
  }
}

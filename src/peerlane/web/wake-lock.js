// The screen kept awake while a file transfer runs (Screen Wake Lock API): a phone that
// locks its screen mid-transfer suspends the page, and the transfer with it. The lock is
// taken when a transfer starts moving bytes, released when none does; the browser drops
// it when the page is hidden, so it is taken again on return if still needed.
// Feature-detected: without navigator.wakeLock (or when refused: battery saver, a
// permission policy) transfers run as before.

/** States in which a transfer moves bytes (transfer-machine.js). */
const RUNNING = new Set(["sending", "receiving", "verifying"]);

/**
 * @typedef {{request(type: "screen"): Promise<{release(): Promise<void>, released?: boolean,
 *   addEventListener?: (type: string, fn: () => void) => void}>}} WakeLockLike
 * @typedef {EventTarget & {list(): {state: string}[]}} TransfersLike
 */

/**
 * Keep the screen awake while any of `transfers` runs, until the returned stop().
 * @param {TransfersLike} transfers
 * @param {{wakeLock?: WakeLockLike | null, doc?: EventTarget & {visibilityState: string}}} [env]
 * @returns {() => void}  stop: release the lock and stop watching
 */
export function keepAwakeWhileTransferring(transfers, env = {}) {
  const wakeLock =
    env.wakeLock === undefined
      ? /** @type {{wakeLock?: WakeLockLike}} */ (globalThis.navigator)?.wakeLock
      : env.wakeLock;
  const doc = env.doc ?? globalThis.document;
  if (!wakeLock || !doc) return () => {};
  /** @type {Awaited<ReturnType<WakeLockLike["request"]>> | null} */
  let lock = null;
  let asking = false;
  let stopped = false;

  const running = () => transfers.list().some((t) => RUNNING.has(t.state));
  const update = async () => {
    const wanted = !stopped && running() && doc.visibilityState === "visible";
    if (wanted && !lock && !asking) {
      asking = true;
      let taken = null;
      try {
        taken = await wakeLock.request("screen");
      } catch {
        // refused (battery saver, no permission): the transfer runs all the same; asked
        // again on the next change
      }
      asking = false;
      if (!taken) return;
      lock = taken;
      const mine = taken;
      // The browser's own release (page hidden): forget it, to ask again on return.
      mine.addEventListener?.("release", () => {
        if (lock === mine) lock = null;
      });
      if (stopped || !running()) void update(); // ended while asking: release it
    } else if (lock && (stopped || !running())) {
      const held = lock;
      lock = null;
      await held.release().catch(() => {});
    }
  };
  const onChange = () => void update();
  transfers.addEventListener("change", onChange);
  doc.addEventListener("visibilitychange", onChange);
  void update();
  return () => {
    stopped = true;
    transfers.removeEventListener("change", onChange);
    doc.removeEventListener("visibilitychange", onChange);
    void update();
  };
}

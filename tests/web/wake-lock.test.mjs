// The screen kept awake while a transfer runs (wake-lock.js): taken when one moves bytes,
// released when none does, taken again on return after the browser dropped it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { keepAwakeWhileTransferring } from "../../src/peerlane/web/wake-lock.js";

function setup({ refuse = false } = {}) {
  const transfers = Object.assign(new EventTarget(), { states: [] });
  transfers.list = () => transfers.states.map((state) => ({ state }));
  transfers.set = (...states) => {
    transfers.states = states;
    transfers.dispatchEvent(new Event("change"));
  };
  const doc = Object.assign(new EventTarget(), { visibilityState: "visible" });
  const locks = [];
  const wakeLock = {
    async request(type) {
      assert.equal(type, "screen");
      if (refuse) throw new Error("NotAllowedError");
      const lock = Object.assign(new EventTarget(), {
        released: false,
        async release() {
          lock.released = true;
        },
      });
      locks.push(lock);
      return lock;
    },
  };
  return { transfers, doc, locks, wakeLock };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const held = (locks) => locks.filter((l) => !l.released).length;

test("the lock is held while a transfer runs and released when it ends", async () => {
  const { transfers, doc, locks, wakeLock } = setup();
  const stop = keepAwakeWhileTransferring(transfers, { wakeLock, doc });
  transfers.set("offered");
  await settle();
  assert.equal(locks.length, 0, "an offer moves no bytes");
  transfers.set("receiving");
  await settle();
  assert.equal(held(locks), 1);
  transfers.set("receiving", "sending");
  await settle();
  assert.equal(locks.length, 1, "one lock for all the transfers");
  transfers.set("done", "failed");
  await settle();
  assert.equal(held(locks), 0);
  stop();
});

test("taken again when the page returns after the browser dropped it", async () => {
  const { transfers, doc, locks, wakeLock } = setup();
  keepAwakeWhileTransferring(transfers, { wakeLock, doc });
  transfers.set("sending");
  await settle();
  // Hidden: the browser releases the lock itself.
  doc.visibilityState = "hidden";
  locks[0].released = true;
  locks[0].dispatchEvent(new Event("release"));
  doc.dispatchEvent(new Event("visibilitychange"));
  await settle();
  assert.equal(held(locks), 0);
  doc.visibilityState = "visible";
  doc.dispatchEvent(new Event("visibilitychange"));
  await settle();
  assert.equal(locks.length, 2);
  assert.equal(held(locks), 1);
});

test("stop releases the lock; no wake lock or a refusal changes nothing", async () => {
  const { transfers, doc, locks, wakeLock } = setup();
  const stop = keepAwakeWhileTransferring(transfers, { wakeLock, doc });
  transfers.set("verifying");
  await settle();
  stop();
  await settle();
  assert.equal(held(locks), 0);
  const refused = setup({ refuse: true });
  keepAwakeWhileTransferring(refused.transfers, { wakeLock: refused.wakeLock, doc: refused.doc });
  refused.transfers.set("sending");
  await settle();
  assert.equal(refused.locks.length, 0);
  const stopNone = keepAwakeWhileTransferring(transfers, { wakeLock: null, doc });
  stopNone();
});

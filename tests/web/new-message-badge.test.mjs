// The background badge (new-message-badge.js): "(N) " in the title for new messages from
// others while the tab is hidden, cleared when visible; off by default, one remembered toggle.
import assert from "node:assert/strict";
import { test } from "node:test";

import { BADGE_KEY, badgedTitle, NewMessageBadge } from "../../src/peerlane/web/new-message-badge.js";

function memoryStorage() {
  const items = new Map();
  return {
    items,
    getItem: (k) => (items.has(k) ? items.get(k) : null),
    setItem: (k, v) => items.set(k, String(v)),
    removeItem: (k) => items.delete(k),
  };
}

function setup(storage = memoryStorage()) {
  const page = { title: "Friday plans — peerlane", hidden: false };
  const dings = [];
  const badge = new NewMessageBadge({ page, storage, ding: () => dings.push(page.title) });
  return { page, storage, dings, badge };
}

test("the title with a count", () => {
  assert.equal(badgedTitle("Room — peerlane", 3), "(3) Room — peerlane");
  assert.equal(badgedTitle("(3) Room — peerlane", 4), "(4) Room — peerlane");
  assert.equal(badgedTitle("(3) Room — peerlane", 0), "Room — peerlane");
  assert.equal(badgedTitle("(not a count) Room", 0), "(not a count) Room");
});

test("off by default: a hidden tab's title stays as it is", () => {
  const { page, badge, dings } = setup();
  assert.equal(badge.enabled, false);
  page.hidden = true;
  badge.message();
  assert.equal(page.title, "Friday plans — peerlane");
  assert.deepEqual(dings, []);
});

test("on: messages while hidden count in the title (with a sound); visible again clears it", () => {
  const { page, badge, dings, storage } = setup();
  badge.enabled = true;
  assert.equal(storage.items.get(BADGE_KEY), "on");
  badge.message(); // visible: the person sees it
  assert.equal(page.title, "Friday plans — peerlane");
  page.hidden = true;
  badge.visibilityChanged();
  badge.message();
  badge.message();
  assert.equal(page.title, "(2) Friday plans — peerlane");
  assert.deepEqual(dings, ["(1) Friday plans — peerlane", "(2) Friday plans — peerlane"]);
  page.hidden = false;
  badge.visibilityChanged();
  assert.equal(page.title, "Friday plans — peerlane");
  assert.equal(badge.count, 0);
  page.hidden = true;
  badge.message();
  assert.equal(page.title, "(1) Friday plans — peerlane", "counts anew");
});

test("the toggle is remembered; turning it off clears the title", () => {
  const storage = memoryStorage();
  const first = setup(storage);
  first.badge.enabled = true;
  const again = setup(storage);
  assert.equal(again.badge.enabled, true, "remembered");
  again.page.hidden = true;
  again.badge.message();
  assert.equal(again.page.title, "(1) Friday plans — peerlane");
  again.badge.enabled = false;
  assert.equal(again.page.title, "Friday plans — peerlane");
  assert.equal(storage.items.has(BADGE_KEY), false);
  assert.equal(setup(storage).badge.enabled, false);
});

test("a storage that throws leaves the badge working for this page", () => {
  const broken = {
    getItem: () => {
      throw new Error("denied");
    },
    setItem: () => {
      throw new Error("denied");
    },
    removeItem: () => {},
  };
  const { page, badge } = setup(broken);
  assert.equal(badge.enabled, false);
  badge.enabled = true;
  page.hidden = true;
  badge.message();
  assert.equal(page.title, "(1) Friday plans — peerlane");
});

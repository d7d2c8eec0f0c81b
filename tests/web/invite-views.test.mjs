// ui/invite-views.js's intro line: it offers what the panel shows (an encrypted room's
// invite: the link and a browser-drawn QR code first, its code to be read aloud).
import assert from "node:assert/strict";
import { test } from "node:test";

import { installFakeDom } from "./fake-dom.mjs";

installFakeDom();
const { followInvites, introText } = await import("../../src/peerlane/web/ui/invite-views.js");

const LIVE = { id: "i1", link: "http://x/join#t", code: "12-a-b", expires_at: 0, status: "live" };

test("a live invite with a code: link, QR code or code", () => {
  assert.equal(introText(LIVE), "Send the link, show the QR code, or read out the code.");
});

test("an encrypted room's invite: link or QR code first, the code read aloud", () => {
  const text = introText({ ...LIVE, max_uses: 3, uses: 1 }, true);
  assert.equal(text, "Send the link or show the QR code; or read the code aloud. It lets 2 more people join.");
});

test("a dead invite says why, whatever is shown", () => {
  assert.notEqual(introText({ ...LIVE, status: "revoked" }, true), introText(LIVE, true));
});

test("the panel follows the room: replaced invites, and a keys frame only when the key changed", async () => {
  const room = new EventTarget();
  let fetched = 0;
  room.e2e = {
    keyText: "K0",
    fetchKeys: async () => {
      fetched += 1;
    },
  };
  const seen = [];
  let drawn = "K0";
  const stop = followInvites(room, {
    invites: () => seen.push("invites"),
    drawnKey: () => drawn,
    rekeyed: async () => {
      seen.push(`rekeyed ${room.e2e.keyText}`);
      drawn = room.e2e.keyText;
    },
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  room.dispatchEvent(new Event("keys")); // someone published an identity key: nothing to redraw
  await settle();
  assert.deepEqual(seen, []);
  room.e2e.keyText = "K1"; // the fetch brought a rotation's key
  room.dispatchEvent(new Event("keys"));
  await settle();
  room.dispatchEvent(new Event("invites"));
  assert.deepEqual(seen, ["rekeyed K1", "invites"]);
  assert.equal(fetched, 2, "the keys are fetched before the key is compared");
  stop();
  room.dispatchEvent(new Event("invites"));
  assert.equal(seen.length, 2);
});

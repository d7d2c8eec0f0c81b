// ui/invite-views.js's intro line: it offers only what the panel shows (an encrypted
// room's invite has a link and a browser-drawn QR code, no read-aloud code yet).
import assert from "node:assert/strict";
import { test } from "node:test";

import { installFakeDom } from "./fake-dom.mjs";

installFakeDom();
const { introText } = await import("../../src/peerlane/web/ui/invite-views.js");

const LIVE = { id: "i1", link: "http://x/join#t", code: "12-a-b", expires_at: 0, status: "live" };

test("a live invite with a code: link, QR code or code", () => {
  assert.equal(introText(LIVE), "Send the link, show the QR code, or read out the code.");
});

test("an encrypted room's invite: link or QR code, no code mentioned", () => {
  const text = introText({ ...LIVE, code: null, max_uses: 3, uses: 1 }, false);
  assert.equal(text, "Send the link or show the QR code. It lets 2 more people join.");
});

test("a dead invite says why, whatever is shown", () => {
  assert.notEqual(introText({ ...LIVE, status: "revoked" }, false), introText(LIVE, false));
});

// ui/message-row.js on a small recording DOM: what a row offers for its state.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { installFakeDom } from "./fake-dom.mjs";

installFakeDom();
const { fillRow, rowContext } = await import("../../src/peerlane/web/ui/message-row.js");

/** @returns {import("../../src/peerlane/web/ui/types.js").ChatMessageView} */
const own = (over = {}) => ({
  id: "m1",
  seq: null,
  sender: "me",
  sender_name: "Me",
  body: "hello",
  ts: 1_700_000_000,
  state: "failed",
  ...over,
});

function render(m, me = "me") {
  const row = document.createElement("div");
  fillRow(row, m, rowContext(m, undefined, me));
  const actions = row.find((e) => e.tagName === "BUTTON").map((b) => b.getAttribute("data-action"));
  return { row, actions };
}

describe("a failed own message", () => {
  test("offers Retry and Delete while sending again may help", () => {
    assert.deepEqual(render(own()).actions, ["retry", "discard"]);
  });

  test("offers only Delete when sending again cannot help (final)", () => {
    const { row, actions } = render(own({ final: true }));
    assert.deepEqual(actions, ["discard"]);
    const button = row.find((e) => e.getAttribute("data-action") === "discard")[0];
    assert.match(button.textContent, /Delete/);
  });

  test("a message on its way offers neither", () => {
    assert.deepEqual(render(own({ state: "sending" })).actions, []);
  });
});

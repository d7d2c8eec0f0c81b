// ui/message-row.js on a small recording DOM: what a row offers for its state.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { installFakeDom } from "./fake-dom.mjs";

installFakeDom();
const { fillRow, quoteOf, readByText, rowContext, signature } = await import(
  "../../src/peerlane/web/ui/message-row.js"
);

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

  test("a message on its way offers neither, only Edit and Delete (in the outbox)", () => {
    assert.deepEqual(render(own({ state: "sending" })).actions.filter(Boolean), ["edit", "delete"]);
  });
});

describe("reacting to a message the server has not numbered yet", () => {
  const reactButton = (row) => row.find((e) => (e.className ?? "").includes("react-btn"))[0];

  test("the control is there, disabled, and says why in plain words", () => {
    for (const state of ["sending", "delivered"]) {
      const { row, actions } = render(own({ state, seq: null }));
      const button = reactButton(row);
      assert.ok(button, state);
      assert.equal(button.getAttribute("aria-disabled"), "true");
      assert.equal(button.getAttribute("data-action"), null, "a click does nothing");
      assert.equal(button.getAttribute("title"), "You can react once it is delivered to the server");
      assert.equal(button.getAttribute("aria-description"), "You can react once it is delivered to the server");
      assert.deepEqual(actions, [null, "edit", "delete"], "no Reply before the seq: a reply names it");
    }
  });

  test("once numbered, it reacts", () => {
    const button = reactButton(render(own({ state: "sent", seq: 3 })).row);
    assert.equal(button.getAttribute("data-action"), "react");
    assert.equal(button.getAttribute("aria-disabled"), null);
  });

  test("a failed message takes no reaction and shows no control for it", () => {
    assert.equal(reactButton(render(own()).row), undefined);
  });
});

describe("an own message that was read says by whom", () => {
  test("the words: names, then a count with every name in the full text", () => {
    assert.deepEqual(readByText([]), { short: "Read", full: "Read" });
    assert.deepEqual(readByText(["Bea"]), { short: "Read by Bea", full: "Read by Bea" });
    assert.deepEqual(readByText(["Bea", "Cy", "Dan"]), {
      short: "Read by Bea, Cy and Dan",
      full: "Read by Bea, Cy and Dan",
    });
    assert.deepEqual(readByText(["Bea", "Cy", "Dan", "Eve"]), {
      short: "Read by Bea, Cy and 2 more",
      full: "Read by Bea, Cy, Dan and Eve",
    });
  });

  const read = own({ seq: 4, state: "read" });
  const state = (row) => row.find((e) => (e.className ?? "").includes("msg-state"))[0];

  test("the row names the readers", () => {
    const row = document.createElement("div");
    fillRow(row, read, rowContext(read, undefined, "me", ["Bea", "Cy"]));
    assert.equal(state(row).textContent, "Read by Bea and Cy");
    assert.equal(state(row).getAttribute("title"), "Read by Bea and Cy");
  });

  test("many readers: a count, all names on hover and on focus (keyboard) and for screen readers", () => {
    const row = document.createElement("div");
    fillRow(row, read, rowContext(read, undefined, "me", ["Bea", "Cy", "Dan", "Eve"]));
    const el = state(row);
    assert.equal(el.getAttribute("title"), "Read by Bea, Cy, Dan and Eve");
    assert.equal(el.getAttribute("tabindex"), "0");
    const shown = el.find((e) => e.className === "state-text")[0];
    assert.equal(shown.textContent, "Read by Bea, Cy and 2 more");
    assert.equal(shown.getAttribute("aria-hidden"), "true");
    assert.equal(el.find((e) => e.className === "visually-hidden")[0].textContent, "Read by Bea, Cy, Dan and Eve");
  });
});

describe("an edited or deleted message", () => {
  const theirs = (over = {}) => own({ sender: "alice", sender_name: "Alice", seq: 3, state: "sent", ...over });
  const body = (row) => row.find((e) => (e.className ?? "").includes("msg-body"))[0];

  test("shows its new words and says it was edited; a deleted one shows no words", () => {
    const { row } = render(theirs({ body: "hello, fixed", edited_at: 1_700_000_100 }));
    assert.equal(body(row).textContent, "hello, fixed");
    const edited = row.find((e) => e.className === "msg-edited")[0];
    assert.match(edited.textContent, /^edited/);
    assert.match(edited.getAttribute("title"), /^Edited /, "when, on hover");
    assert.equal(edited.getAttribute("tabindex"), "0", "and on focus");
    const gone = render(theirs({ body: null, deleted_at: 1_700_000_200 })).row;
    assert.equal(body(gone).textContent, "Message deleted");
    assert.equal(gone.find((e) => e.className === "msg-edited").length, 0);
  });

  test("an edit or a deletion redraws the row (its signature changes)", () => {
    const before = theirs();
    const ctx = rowContext(before, undefined, "me");
    assert.notEqual(signature(before, ctx), signature(theirs({ body: "x", edited_at: 1 }), ctx));
    assert.notEqual(signature(before, ctx), signature(theirs({ body: null, deleted_at: 2 }), ctx));
  });
});

describe("edit, delete and reply controls", () => {
  const actionsOf = (m, more) => {
    const row = document.createElement("div");
    fillRow(row, m, rowContext(m, undefined, "me", [], more));
    return row.find((e) => e.tagName === "BUTTON").map((b) => b.getAttribute("data-action"));
  };

  test("own numbered message: React, Reply, Edit, Delete; someone else's: React, Reply", () => {
    assert.deepEqual(actionsOf(own({ seq: 2, state: "sent" })), ["react", "reply", "edit", "delete"]);
    assert.deepEqual(actionsOf(own({ seq: 2, state: "sent", sender: "alice" })), ["react", "reply"]);
  });

  test("a deleted message offers nothing, and neither does the question once it is deleted", () => {
    assert.deepEqual(actionsOf(own({ seq: 2, state: "sent", body: null, deleted_at: 5 })), []);
    assert.deepEqual(actionsOf(own({ seq: 2, state: "sent", pending: { id: "d", kind: "delete", body: null } })), []);
  });

  test("Delete asks first: the row carries the question with Delete and Keep it", () => {
    const actions = actionsOf(own({ seq: 2, state: "sent" }), { confirming: true });
    assert.deepEqual(actions.slice(-2), ["confirm-delete", "cancel-delete"]);
  });

  test("an own edit on its way shows at once, marked edited", () => {
    const m = own({ seq: 2, state: "sent", body: "old", pending: { id: "e", kind: "edit", body: "new" } });
    const row = document.createElement("div");
    fillRow(row, m, rowContext(m, undefined, "me"));
    assert.equal(row.find((e) => (e.className ?? "").includes("msg-body"))[0].textContent, "new");
    assert.equal(row.find((e) => e.className === "msg-edited")[0].textContent, "edited");
  });

  test("a reply's quote: the original's sender and first line, or that it was deleted, or not loaded", () => {
    const target = own({ seq: 1, state: "sent", sender: "alice", sender_name: "Alice", body: "first\nsecond" });
    assert.deepEqual(quoteOf(1, target), { seq: 1, name: "Alice", text: "first", deleted: false, missing: false });
    const deleted = quoteOf(1, { ...target, body: null, deleted_at: 3 });
    assert.equal(deleted.text, "Message deleted");
    assert.equal(deleted.deleted, true);
    assert.equal(quoteOf(1, undefined).missing, true);
    const reply = own({ seq: 2, state: "sent", ref: 1, body: "yes" });
    const row = document.createElement("div");
    fillRow(row, reply, rowContext(reply, undefined, "me", [], { quote: quoteOf(1, target) }));
    const quote = row.find((e) => e.getAttribute("data-action") === "quote")[0];
    assert.equal(quote.getAttribute("data-ref"), "1");
    assert.match(quote.getAttribute("aria-label"), /Reply to Alice: first; show the original/);
    const sig = (q) => signature(reply, rowContext(reply, undefined, "me", [], { quote: q }));
    assert.notEqual(sig(quoteOf(1, target)), sig(deleted), "the quote redraws when its original is deleted");
  });
});

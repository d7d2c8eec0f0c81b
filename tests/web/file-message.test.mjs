// ui/file-message.js: a file offer's row in the chat timeline, joined to the transfer
// engine by the offer's transfer id, kept in step with the engine's "change" events.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { installFakeDom } from "./fake-dom.mjs";

installFakeDom();
const { fillFileRow, offerOf, offerShownTo, offerText } = await import("../../src/peerlane/web/ui/file-message.js");
const { rowContext } = await import("../../src/peerlane/web/ui/message-row.js");

const offerMessage = (over = {}, body = {}) => ({
  id: "m1",
  seq: 4,
  sender: "alice",
  sender_name: "Alice",
  ts: 1_700_000_000,
  kind: "file",
  state: "sent",
  body: { op: "offer", transfer: "t1", name: "report.pdf", size: 2048, type: "application/pdf", to: null, ...body },
  ...over,
});

/** @returns {import("../../src/peerlane/web/ui/types.js").TransferView} */
const view = (over = {}) => ({
  id: "t1",
  direction: "in",
  state: "offered",
  path: null,
  name: "report.pdf",
  size: 2048,
  type: "application/pdf",
  sender: "alice",
  senderName: "Alice",
  to: null,
  toName: null,
  root: "r",
  bytesDone: 0,
  speedBps: 0,
  etaSeconds: null,
  error: null,
  note: null,
  receivers: [],
  createdAt: 1,
  ...over,
});

class FakeEngine extends EventTarget {
  /** @type {Map<string, ReturnType<typeof view>>} */
  views = new Map();
  accepted = [];
  get(id) {
    return this.views.get(id);
  }
  list() {
    return [...this.views.values()];
  }
  accept(id) {
    this.accepted.push(id);
  }
  set(v) {
    if (v) this.views.set(v.id, v);
    else this.views.clear();
    this.dispatchEvent(new Event("change"));
  }
}

function roomWith(engine, messages = []) {
  return { transfers: engine, peers: new Map(), messages };
}

/** Build the row, and connect its element as the list would. */
function render(m, room, me = "me") {
  const el = document.createElement("div");
  fillFileRow(el, m, rowContext(m, undefined, me), room);
  const item = el.querySelector("pl-file-offer");
  item.connectedCallback();
  return { el, item };
}

const buttons = (el) => el.find((e) => e.tagName === "BUTTON").map((b) => b.textContent);
const byTestId = (el, id) => el.find((e) => e.dataset?.testid === id || e.getAttribute("data-testid") === id)[0];

describe("offerOf", () => {
  test("only offers with a transfer id; names cleaned, sizes checked", () => {
    assert.equal(offerOf(offerMessage({ kind: "text" })), null);
    assert.equal(offerOf(offerMessage({}, { op: "accept" })), null);
    assert.equal(offerOf(offerMessage({}, { transfer: 7 })), null);
    const odd = offerOf(offerMessage({}, { name: "evil\u202egnp.exe", size: -1 }));
    assert.equal(odd?.name, "evilgnp.exe");
    assert.equal(odd?.size, 0);
  });
});

describe("an offer's row", () => {
  test("shows the engine's transfer with its actions, and follows its changes in place", () => {
    const engine = new FakeEngine();
    engine.set(view());
    const { el, item } = render(offerMessage(), roomWith(engine));
    assert.equal(el.dataset.testid, "file-message");
    assert.equal(el.dataset.transferId, "t1");
    assert.equal(byTestId(el, "transfer-name").textContent, "report.pdf");
    assert.equal(byTestId(el, "transfer-sender").textContent, "From Alice");
    assert.deepEqual(buttons(el), ["Accept", "Decline"]);
    const row = item.firstElementChild;
    assert.equal(row.getAttribute("role"), "group");
    assert.equal(row.getAttribute("data-testid"), "timeline-transfer");

    engine.set(view({ state: "receiving", bytesDone: 1024 }));
    assert.equal(item.firstElementChild, row, "the same element, updated in place");
    assert.equal(row.dataset.state, "receiving");
    assert.deepEqual(buttons(el), ["Cancel"]);

    engine.set(view({ state: "done", bytesDone: 2048 }));
    assert.ok(buttons(el).some((b) => b.includes("Save")));
  });

  test("a transfer gone from this browser's list: what the offer says, and why nothing can be done", () => {
    const engine = new FakeEngine();
    engine.set(view());
    const { el } = render(offerMessage(), roomWith(engine));
    engine.set(null);
    assert.deepEqual(buttons(el), []);
    assert.equal(byTestId(el, "transfer-name").textContent, "report.pdf");
    assert.equal(byTestId(el, "transfer-state").textContent, "Not in this browser's files list.");
  });

  test("an offer to one person is a row for the sender and that person only", () => {
    const toBob = offerMessage({}, { to: "bob" });
    assert.equal(offerShownTo(toBob, "bob"), true);
    assert.equal(offerShownTo(toBob, "alice"), true, "the sender");
    assert.equal(offerShownTo(toBob, "carol"), false, "anyone else");
    assert.equal(offerShownTo(offerMessage(), "carol"), true, "an offer to everyone");
    assert.equal(offerShownTo(offerMessage({}, { op: "accept" }), "alice"), false, "not an offer");
  });

  test("an own offer to someone gone from this browser's list names them", () => {
    const engine = new FakeEngine();
    const room = roomWith(engine, [{ id: "x", sender: "bob", sender_name: "Bob", body: "hi", state: "sent", seq: 1 }]);
    const { el } = render(offerMessage({ sender: "me", sender_name: "Me" }, { to: "bob" }), room);
    assert.equal(byTestId(el, "transfer-sender").textContent, "From you to Bob");
    assert.equal(byTestId(el, "transfer-state").textContent, "Not in this browser's files list.");
  });

  test("an own offer reads from you", () => {
    const m = offerMessage({ sender: "me", sender_name: "Me" });
    const text = offerText(/** @type {any} */ (offerOf(m)), m, true, "me", () => undefined, true);
    assert.equal(text.who, "From you to everyone");
  });
});

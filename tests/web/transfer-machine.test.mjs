// The transfer state machine on its own (transfer-machine.js): every allowed transition
// with its effects, every other event refused, guards, the sending side's derived state,
// and that a step never changes the record it is given.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { INCOMING, OUTGOING, step } from "../../src/peerlane/web/transfer-machine.js";
import { blankRecord } from "../../src/peerlane/web/transfer-records.js";

const ROOT = "a".repeat(64);
const EVENTS = {
  restore: { type: "restore" },
  accept: { type: "accept" },
  decline: { type: "decline" },
  cancel: { type: "cancel" },
  "peer-cancel": { type: "peer-cancel" },
  fail: { type: "fail", error: { code: "integrity-failed" } },
  "bytes-flowing": { type: "bytes-flowing" },
  "download-started": { type: "download-started" },
  "channel-closed": { type: "channel-closed" },
  "link-opened": { type: "link-opened", peerId: "alice-tab" },
  "all-blocks": { type: "all-blocks" },
  "root-mismatch": { type: "root-mismatch" },
  verified: { type: "verified" },
  retry: { type: "retry" },
  "file-picked": { type: "file-picked", root: ROOT, hashes: ["h"] },
  "receiver-accept": { type: "receiver-accept", participant: "carol", name: "Carol", have: 0, hasFile: true },
  "receiver-served": { type: "receiver-served", participant: "carol", name: "Carol" },
  "receiver-lost": { type: "receiver-lost", participant: "bob" },
  "receiver-done": { type: "receiver-done", participant: "bob", name: "Bob" },
  "receiver-declined": { type: "receiver-declined", participant: "bob", name: "Bob" },
  "receiver-cancelled": { type: "receiver-cancelled", participant: "bob", name: "Bob" },
  uploaded: { type: "uploaded", fileId: "f1" },
  recheck: { type: "recheck" },
};

/** Alice's one-block file t1 in `state`, as its `direction` ("in", "out") records it. */
const record = (direction, state) => ({
  ...blankRecord("t1", "r", direction, 1),
  state,
  root: ROOT,
  size: 3,
  blocks: 1,
  sender: "alice",
  senderName: "Alice",
});

/** An incoming record in `state`, accepted (so "restore" resumes it). */
function incoming(state, extra = {}) {
  return { ...record("in", state), accepted: state !== "offered", ...extra };
}

/** An outgoing offer to everyone in `state`, with bob being served (or, once done, bob done and dave declined). */
function outgoing(state, extra = {}) {
  return {
    ...record("out", state),
    receivers:
      state === "done"
        ? { bob: { name: "Bob", state: "done", have: 1 }, dave: { name: "Dave", state: "declined", have: 0 } }
        : { bob: { name: "Bob", state: "sending", have: 0 } },
    ...extra,
  };
}

// Every allowed transition: [from, event, to, effects (types, in order)].
const IN = [
  ["offered", "accept", "waiting", ["note"]],
  ["offered", "decline", "declined", ["control", "commit"]],
  ["offered", "cancel", "cancelled", ["stop", "control", "remove-partial", "drop-hashes", "commit"]],
  ["offered", "peer-cancel", "cancelled", ["stop", "remove-partial", "commit"]],
  ["offered", "fail", "failed", ["stop", "commit"]],
  ["waiting", "restore", "waiting", ["resume"]],
  ["waiting", "bytes-flowing", "receiving", ["note", "commit"]],
  ["waiting", "download-started", "receiving", ["note", "commit"]],
  ["waiting", "channel-closed", "waiting", ["note-if-none", "checkpoint", "commit", "retry-later"]],
  ["waiting", "all-blocks", "verifying", ["stop-checkpoints", "note"]],
  ["waiting", "retry", "waiting", ["note", "control", "commit"]],
  ["waiting", "cancel", "cancelled", ["stop", "control", "remove-partial", "drop-hashes", "commit"]],
  ["waiting", "peer-cancel", "cancelled", ["stop", "remove-partial", "commit"]],
  ["waiting", "fail", "failed", ["stop", "commit"]],
  ["receiving", "restore", "waiting", ["resume"]],
  ["receiving", "download-started", "receiving", ["note", "commit"]],
  ["receiving", "channel-closed", "waiting", ["note-if-none", "checkpoint", "commit", "retry-later"]],
  ["receiving", "link-opened", "receiving", ["note", "move-to-channel", "commit"]],
  ["receiving", "all-blocks", "verifying", ["stop-checkpoints", "note"]],
  ["receiving", "retry", "waiting", ["note", "control", "commit"]],
  ["receiving", "cancel", "cancelled", ["stop", "control", "remove-partial", "drop-hashes", "commit"]],
  ["receiving", "peer-cancel", "cancelled", ["stop", "remove-partial", "commit"]],
  ["receiving", "fail", "failed", ["stop", "commit"]],
  ["verifying", "restore", "waiting", ["resume"]],
  ["verifying", "root-mismatch", "waiting", ["pursue"]],
  ["verifying", "verified", "done", ["drop-hashes", "note", "close-channel", "control", "commit"]],
  ["verifying", "cancel", "cancelled", ["stop", "control", "remove-partial", "drop-hashes", "commit"]],
  ["verifying", "peer-cancel", "cancelled", ["stop", "remove-partial", "commit"]],
  ["verifying", "fail", "failed", ["stop", "commit"]],
];

const OUT = [
  ...["waiting", "sending"].flatMap((from) => [
    [from, "restore", "needs-file", []],
    [from, "receiver-accept", "sending", ["arm-fallback", "note", "commit"]],
    [from, "receiver-served", "sending", ["note", "note", "commit"]],
    [from, "receiver-lost", "sending", ["note", "arm-fallback", "note-if-none", "commit"]],
    [from, "receiver-done", "done", ["clear-fallback", "commit"]],
    [from, "receiver-declined", "waiting", ["close-session", "clear-fallback", "commit"]],
    [from, "receiver-cancelled", "waiting", ["close-session", "clear-fallback", "commit"]],
    [from, "uploaded", "sending", ["note", "control", "note", "commit"]],
    [from, "recheck", "sending", ["note", "commit"]],
    [from, "cancel", "cancelled", ["stop", "control", "commit"]],
    [from, "fail", "failed", ["stop", "commit"]],
  ]),
  ["done", "receiver-accept", "sending", ["arm-fallback", "note-if-none", "commit"]],
  ["done", "receiver-served", "sending", ["note", "note", "commit"]],
  ["done", "receiver-lost", "done", ["commit"]],
  ["done", "receiver-done", "done", ["clear-fallback", "commit"]],
  ["done", "receiver-declined", "done", ["close-session", "clear-fallback", "commit"]],
  ["done", "receiver-cancelled", "done", ["close-session", "clear-fallback", "commit"]],
  ["done", "uploaded", "done", ["note", "control", "commit"]],
  ["done", "recheck", "done", ["commit"]],
  ["needs-file", "restore", "needs-file", []],
  ["needs-file", "file-picked", "waiting", []],
  ["needs-file", "receiver-accept", "needs-file", ["commit"]],
  ["needs-file", "receiver-lost", "needs-file", ["note", "arm-fallback", "commit"]],
  ["needs-file", "receiver-done", "needs-file", ["clear-fallback", "commit"]],
  ["needs-file", "receiver-declined", "needs-file", ["close-session", "clear-fallback", "commit"]],
  ["needs-file", "receiver-cancelled", "needs-file", ["close-session", "clear-fallback", "commit"]],
  ["needs-file", "uploaded", "needs-file", ["note", "control", "commit"]],
  ["needs-file", "recheck", "needs-file", ["commit"]],
  ["needs-file", "cancel", "cancelled", ["stop", "control", "commit"]],
  ["needs-file", "fail", "failed", ["stop", "commit"]],
];

describe("transfer machine: the tables", () => {
  for (const [name, table, cases] of [
    ["incoming", INCOMING, IN],
    ["outgoing", OUTGOING, OUT],
  ]) {
    test(`${name}: the table holds exactly the transitions tested here`, () => {
      const listed = Object.entries(table)
        .flatMap(([from, row]) => Object.keys(row).map((event) => `${from} ${event}`))
        .sort();
      assert.deepEqual(listed, cases.map(([from, event]) => `${from} ${event}`).sort());
    });
  }

  for (const [from, event, to, effects] of IN) {
    test(`in: ${from} --${event}--> ${to}`, () => {
      // Only a transfer on the server path (with its copy there) moves to a link.
      const record = incoming(from, event === "link-opened" ? { fileId: "f1" } : {});
      const before = structuredClone(record);
      const result = step(record, EVENTS[event]);
      assert.equal(result.refused, false);
      assert.equal(result.record.state, to);
      assert.deepEqual(
        result.effects.map((e) => e.type),
        effects,
      );
      assert.deepEqual(record, before, "the input record is not changed");
    });
  }

  for (const [from, event, to, effects] of OUT) {
    test(`out: ${from} --${event}--> ${to}`, () => {
      const record = outgoing(from);
      const before = structuredClone(record);
      // Bob verified a finished transfer: these are about Dave (who declined), as bob's would be refused.
      const about =
        from === "done" && ["receiver-done", "receiver-declined", "receiver-cancelled"].includes(event)
          ? { participant: "dave" }
          : {};
      const result = step(record, { ...EVENTS[event], ...about });
      assert.equal(result.refused, false);
      assert.equal(result.record.state, to);
      assert.deepEqual(
        result.effects.map((e) => e.type),
        effects,
      );
      assert.deepEqual(record, before, "the input record is not changed");
    });
  }

  test("every event a state's row does not list is refused: same record, no effects", () => {
    let refused = 0;
    for (const [table, make] of [
      [INCOMING, incoming],
      [OUTGOING, outgoing],
    ]) {
      for (const [state, row] of Object.entries(table)) {
        for (const [type, event] of Object.entries(EVENTS)) {
          if (type in row) continue;
          const record = make(state);
          const result = step(record, event);
          assert.equal(result.refused, true, `${record.direction} ${state} ${type}`);
          assert.equal(result.record, record);
          assert.deepEqual(result.effects, []);
          refused++;
        }
      }
    }
    assert.ok(refused > 100, `${refused} refusals checked`);
  });

  test("finished transfers take no event at all (a late frame, a second cancel)", () => {
    for (const state of ["declined", "cancelled", "failed"]) {
      assert.deepEqual(Object.keys(INCOMING[state]), []);
      assert.deepEqual(Object.keys(OUTGOING[state]), []);
    }
    assert.deepEqual(Object.keys(INCOMING.done), []);
  });
});

describe("transfer machine: guards and fields", () => {
  test("restore: only an accepted incoming transfer resumes; a sender with a server copy keeps serving", () => {
    assert.equal(step(incoming("waiting", { accepted: false }), EVENTS.restore).refused, true);
    assert.equal(step(outgoing("sending", { fileId: "f1" }), EVENTS.restore).refused, true);
    assert.equal(step(outgoing("sending"), EVENTS.restore).record.state, "needs-file");
  });

  test("accept marks the transfer accepted; fail keeps the error code; verified keeps nothing to resume", () => {
    assert.equal(step(incoming("offered"), EVENTS.accept).record.accepted, true);
    assert.deepEqual(step(incoming("receiving"), EVENTS.fail).record.error, { code: "integrity-failed" });
    const done = step(incoming("verifying", { have: 0, stored: ["x"], hashes: ["h"] }), EVENTS.verified).record;
    assert.deepEqual([done.have, done.stored, done.hashes], [1, [], null]);
    const again = step(incoming("verifying", { have: 1, stored: ["x"] }), EVENTS["root-mismatch"]).record;
    assert.deepEqual([again.have, again.stored], [0, []]);
  });

  test("a link opening moves only a transfer on the server path, to that link's peer", () => {
    assert.equal(step(incoming("receiving"), EVENTS["link-opened"]).refused, true, "no server copy: not downloading");
    const { effects } = step(incoming("receiving", { fileId: "f1" }), EVENTS["link-opened"]);
    assert.deepEqual(
      effects.find((e) => e.type === "move-to-channel"),
      { type: "move-to-channel", peerId: "alice-tab" },
    );
  });

  test("a channel that closes goes to the server copy at once when there is one", () => {
    const effects = step(incoming("receiving", { fileId: "f1" }), EVENTS["channel-closed"]).effects.map((e) => e.type);
    assert.equal(effects.at(-1), "pursue");
  });

  test("a receiver that verified the whole file stays done", () => {
    const record = outgoing("sending", { receivers: { bob: { name: "Bob", state: "done", have: 1 } } });
    for (const type of ["receiver-accept", "receiver-done", "receiver-declined", "receiver-cancelled"]) {
      assert.equal(step(record, { ...EVENTS[type], participant: "bob" }).refused, true, type);
    }
  });

  test("a late accept of a finished offer to everyone: a path again, or needs-file after a reload", () => {
    const record = outgoing("done");
    const served = step(record, EVENTS["receiver-accept"]);
    assert.equal(served.record.state, "sending");
    assert.deepEqual(served.effects[0], { type: "arm-fallback", participant: "carol" });
    assert.equal(step(record, { ...EVENTS["receiver-accept"], hasFile: false }).record.state, "needs-file");
    assert.equal(
      step({ ...record, fileId: "f1" }, { ...EVENTS["receiver-accept"], hasFile: false }).record.state,
      "sending",
    );
  });

  test("the sending side's state adds up its receivers", () => {
    const to = (receivers, extra = {}) =>
      step(outgoing("sending", { receivers, ...extra }), EVENTS.recheck).record.state;
    const r = (state) => ({ name: "X", state, have: 0 });
    assert.equal(to({ a: r("done"), b: r("waiting") }), "sending");
    assert.equal(to({ a: r("done"), b: r("declined") }), "done");
    assert.equal(to({ a: r("declined") }), "waiting", "everyone: one no is not the end");
    assert.equal(to({ a: r("declined") }, { to: "a" }), "declined");
    assert.equal(to({ a: r("cancelled") }, { to: "a" }), "cancelled");
    assert.equal(to({}), "waiting");
    assert.equal(
      step(outgoing("waiting", { root: null, receivers: {} }), EVENTS.recheck).record.state,
      "waiting",
      "still hashing",
    );
  });

  test("the sender's note: who it waits for, or nothing while bytes go", () => {
    const waiting = step(
      outgoing("sending", { to: "bob", toName: "Bob", receivers: { bob: { name: "Bob", state: "waiting", have: 0 } } }),
      EVENTS.recheck,
    );
    assert.deepEqual(waiting.effects[0], { type: "note-if-none", note: { code: "waiting-accept", name: "Bob" } });
    const sending = step(outgoing("sending"), EVENTS.recheck);
    assert.deepEqual(sending.effects[0], { type: "note", note: null });
  });

  test("cancel before the file was offered tells nobody", () => {
    const effects = step(outgoing("waiting", { root: null, receivers: {} }), EVENTS.cancel).effects.map((e) => e.type);
    assert.deepEqual(effects, ["stop", "commit"]);
    const uploaded = step(outgoing("sending", { uploadUrl: "/u/1" }), EVENTS.cancel).effects.map((e) => e.type);
    assert.deepEqual(uploaded, ["stop", "control", "terminate-upload", "commit"]);
  });
});

// The message log on its own (chat-log.js): ordering, merge, dedupe, reactions, states.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { isPeerChat, keyOf, MessageLog, ownState } from "../../src/peerlane/web/chat-log.js";
import { formatHlc } from "../../src/peerlane/web/hlc.js";
import { CHAT_KINDS } from "../../src/peerlane/web/protocol.js";
import { serverMessage } from "./fakes.mjs";

const hlcAt = (ms, who = "me") => formatHlc(ms, 0, who);

/** An own message as ChatRoom composes it. */
function own(id, ms, over = {}) {
  return {
    id,
    seq: null,
    hlc: hlcAt(ms),
    sender: "me",
    sender_name: "Me",
    ts: ms / 1000,
    kind: "text",
    ref: null,
    body: id,
    state: "sending",
    reactions: new Map(),
    ...over,
  };
}

function logWithCounts() {
  const counts = { change: 0, added: [] };
  const log = new MessageLog({ onChange: () => counts.change++, onAdd: (m) => counts.added.push(m.id) });
  return { log, counts };
}

describe("message log", () => {
  test("numbered messages by seq, then the unnumbered by HLC, whatever the arrival order", () => {
    const { log } = logWithCounts();
    log.add(own("late", 3_000));
    log.fromServer(serverMessage(7), "me", 0);
    log.add(own("early", 2_000));
    log.fromServer(serverMessage(5), "me", 0);
    assert.deepEqual(
      log.messages.map((m) => m.id),
      ["m5", "m7", "early", "late"],
    );
    assert.equal(log.minSeq, 5);
    assert.equal(log.maxSeq, 7);
  });

  test("the same message by data channel, then by server, is one entry that takes the server's seq", () => {
    const { log, counts } = logWithCounts();
    const chat = {
      t: "chat",
      id: "a1",
      sender: "alice",
      sender_name: "Alice",
      hlc: hlcAt(1_000, "alice"),
      kind: "text",
      ref: null,
      body: "hi",
      seq: 99,
    };
    const m = log.fromPeer(chat, "me");
    assert.equal(m?.seq, null, "a peer's seq is not trusted");
    assert.equal(m?.state, "delivered");
    assert.equal(log.fromPeer(chat, "me"), null, "a resend is known already");
    log.fromServer(serverMessage(4, { id: "a1", sender: "alice", body: "hi" }), "me", 0);
    assert.equal(log.messages.length, 1);
    assert.equal(log.messages[0].seq, 4);
    assert.equal(log.messages[0].state, "sent");
    assert.deepEqual(counts.added, ["a1"], "onAdd once per (sender, id)");
    assert.equal(log.find("a1"), log.get("alice", "a1"));
  });

  test("the same id from two senders is two messages", () => {
    const { log } = logWithCounts();
    log.fromServer(serverMessage(1, { id: "x", sender: "alice" }), "me", 0);
    log.fromServer(serverMessage(2, { id: "x", sender: "bob" }), "me", 0);
    assert.equal(log.messages.length, 2);
    assert.notEqual(keyOf("alice", "x"), keyOf("bob", "x"));
  });

  test("an own message: sending → sent by ack → read by a receipt; never backwards", () => {
    const { log } = logWithCounts();
    const m = own("o1", 1_000);
    log.add(m);
    assert.equal(log.advance(m, "delivered"), true);
    log.ack("me", { id: "o1", seq: 3, ts: 1.5 }, 0);
    assert.equal(m.seq, 3);
    assert.equal(m.state, "delivered", "the ack does not undo delivered");
    log.readUpTo("me", 2);
    assert.equal(m.state, "delivered");
    log.readUpTo("me", 3);
    assert.equal(m.state, "read");
    assert.equal(log.advance(m, "sent"), false);
    assert.equal(ownState(3, "sending", 3), "read");
    assert.equal(ownState(4, "sending", 3), "sent");
  });

  test("reactions aggregate into their target with toggle semantics, in seq order; failed ones do not count", () => {
    const { log } = logWithCounts();
    // The reactions come before their target (an older page).
    log.fromServer(serverMessage(10, { id: "r1", kind: "reaction", ref: 1, body: "👍", sender: "alice" }), "me", 0);
    log.fromServer(serverMessage(11, { id: "r2", kind: "reaction", ref: 1, body: "👍", sender: "bob" }), "me", 0);
    log.fromServer(serverMessage(12, { id: "r3", kind: "reaction", ref: 1, body: "👍", sender: "alice" }), "me", 0);
    log.fromServer(serverMessage(1), "me", 0);
    assert.deepEqual(
      log.messages.map((m) => m.id),
      ["m1"],
      "reactions are not shown",
    );
    assert.deepEqual([...log.messages[0].reactions.get("👍")], ["bob"]);
    const mine = own("r4", 5_000, { kind: "reaction", ref: 1, body: "👍" });
    log.add(mine);
    assert.deepEqual([...log.messages[0].reactions.get("👍")].sort(), ["bob", "me"]);
    log.setState(mine, "failed");
    assert.deepEqual([...log.messages[0].reactions.get("👍")], ["bob"]);
  });

  test("file offers are shown (the timeline's file row); the other file messages are kept but not shown", () => {
    const { log, counts } = logWithCounts();
    log.fromServer(serverMessage(1, { kind: "file", body: { op: "offer", transfer: "t1" } }), "me", 0);
    log.fromServer(
      serverMessage(2, { id: "m2", kind: "file", body: { op: "accept", transfer: "t1", have: 0 } }),
      "me",
      0,
    );
    log.fromServer(serverMessage(3, { id: "m3", kind: "file", body: { op: "done", transfer: "t1" } }), "me", 0);
    log.fromServer(serverMessage(4, { id: "m4", kind: "file", body: null }), "me", 0);
    assert.deepEqual(
      log.messages.map((m) => m.id),
      ["m1"],
    );
    assert.deepEqual(counts.added, ["m1", "m2", "m3", "m4"]);
  });

  test("an outbox item comes back as sending; messages is a new array only after a change", () => {
    const { log, counts } = logWithCounts();
    const before = log.messages;
    const m = log.fromOutbox({
      id: "o9",
      room_id: "r",
      hlc: hlcAt(9_000),
      sender: "me",
      sender_name: "Me",
      kind: "text",
      ref: null,
      body: "x",
      created_at: 9,
    });
    assert.equal(m.state, "sending");
    assert.equal(m.ts, 9);
    assert.ok(counts.change > 0);
    const after = log.messages;
    assert.notEqual(after, before);
    assert.equal(log.messages, after, "no change, same array");
  });

  test("isPeerChat: fields and types the room needs", () => {
    const ok = { id: "a", sender: "s", sender_name: "S", hlc: "h", kind: "text", ref: null };
    assert.equal(isPeerChat(ok, CHAT_KINDS), true);
    assert.equal(isPeerChat({ ...ok, id: "" }, CHAT_KINDS), false);
    assert.equal(isPeerChat({ ...ok, id: "x".repeat(65) }, CHAT_KINDS), false);
    assert.equal(isPeerChat({ ...ok, kind: "nope" }, CHAT_KINDS), false);
    assert.equal(isPeerChat({ ...ok, ref: 1.5 }, CHAT_KINDS), false);
  });

  test("an edit and a deletion from the server change their target and are not shown themselves", () => {
    const { log } = logWithCounts();
    log.fromServer(serverMessage(1, { id: "a1", sender: "alice", body: "helo" }), "me", 0);
    log.fromServer(serverMessage(2, { id: "b1", sender: "bob", body: "hi" }), "me", 0);
    log.fromServer(
      serverMessage(3, { id: "a2", sender: "alice", kind: "edit", ref: 1, body: "hello", ts: 1_700_000_100 }),
      "me",
      0,
    );
    assert.deepEqual(
      log.messages.map((m) => m.id),
      ["a1", "b1"],
      "the edit is not a message of its own",
    );
    assert.equal(log.get("alice", "a1")?.body, "hello");
    assert.equal(log.get("alice", "a1")?.edited_at, 1_700_000_100);
    // Someone else's edit of alice's message changes nothing (the server refuses it; a
    // log fed one anyway must not apply it).
    log.fromServer(serverMessage(4, { id: "b2", sender: "bob", kind: "edit", ref: 1, body: "bob's words" }), "me", 0);
    assert.equal(log.get("alice", "a1")?.body, "hello");
    log.fromServer(
      serverMessage(5, { id: "a3", sender: "alice", kind: "delete", ref: 1, body: null, ts: 1_700_000_200 }),
      "me",
      0,
    );
    const deleted = log.get("alice", "a1");
    assert.equal(deleted?.body, null);
    assert.equal(deleted?.deleted_at, 1_700_000_200);
    assert.deepEqual(
      log.messages.map((m) => m.id),
      ["a1", "b1"],
    );
  });

  test("history gives a changed message as it is now; a peer cannot edit or delete", () => {
    const { log } = logWithCounts();
    log.fromServer(serverMessage(1, { id: "a1", sender: "alice", body: null, deleted_at: 1_700_000_050 }), "me", 0);
    assert.equal(log.get("alice", "a1")?.deleted_at, 1_700_000_050);
    log.fromServer(serverMessage(2, { id: "a2", sender: "alice", body: "hi" }), "me", 0);
    const forged = {
      t: "chat",
      id: "x1",
      sender: "alice",
      sender_name: "Alice",
      hlc: hlcAt(1_000, "alice"),
      kind: "delete",
      ref: 2,
      body: null,
    };
    assert.equal(log.fromPeer(forged, "me"), null);
    assert.equal(log.get("alice", "a2")?.body, "hi");
    assert.equal(log.find("x1"), undefined);
  });
});

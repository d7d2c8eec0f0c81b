// Edit, delete and reply in ChatRoom (chat-own.js, chat-log.js, chat-outbox.js), with
// recording fakes: what goes to the server and the outbox, what the log shows, and how a
// change made while the server is away, or to a message still in the outbox, reconciles.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ChatRoom } from "../../src/peerlane/web/chat.js";
import { shownBody } from "../../src/peerlane/web/chat-log.js";
import { memoryStore } from "../../src/peerlane/web/store.js";
import { FakeClock, fakeApi, recordingFactories, serverMessage, until } from "./fakes.mjs";

const ALICE = { peer_id: "p-alice", participant_id: "alice", name: "Alice", role: "member" };

async function makeRoom({ history = [], store = memoryStore(), join = true } = {}) {
  const clock = new FakeClock();
  const fakes = recordingFactories();
  let ids = 0;
  const room = new ChatRoom("room1", {
    api: fakeApi({ history }),
    store,
    clock,
    random: () => 0.5,
    newId: () => `id${++ids}`,
    ...fakes.factories,
  });
  const errors = [];
  room.addEventListener("error", (ev) => errors.push(ev.detail));
  await room.start();
  const ctx = {
    room,
    store,
    errors,
    get signaling() {
      return fakes.signalings.at(-1);
    },
    get mesh() {
      return fakes.meshes.at(-1);
    },
  };
  if (join) ctx.signaling.join({ peers: [ALICE], latest: room.messages.at(-1)?.seq ?? 0 });
  return ctx;
}

/** The server's echo of an own message, as it fans it out to everyone. */
const echo = (seq, sent, over = {}) =>
  serverMessage(seq, {
    id: sent.id,
    sender: "me",
    name: "Me",
    kind: sent.kind,
    ref: sent.ref,
    body: sent.body,
    ...over,
  });

const lastError = (errors) => errors.at(-1)?.message ?? "";

const outboxHolds = (store, ids) =>
  until(() => [...store.items.keys()].join() === ids.join(), `the outbox to hold [${ids}]`);

const shown = (room) => room.messages.map((m) => [m.seq, shownBody(m).deleted ? "(deleted)" : shownBody(m).body]);

describe("edit", () => {
  test("an edit of a stored message is a chat of kind edit, shown at once, applied when stored", async () => {
    const mine = serverMessage(1, { id: "x", sender: "me", name: "Me", body: "see you at 7" });
    const { room, signaling } = await makeRoom({ history: [mine] });
    const m = room.messages[0];
    const edit = room.edit("x", "see you at 8");
    assert.equal(edit.kind, "edit");
    assert.deepEqual(signaling.sentOf("chat").at(-1), {
      type: "chat",
      id: edit.id,
      kind: "edit",
      ref: 1,
      body: "see you at 8",
    });
    assert.deepEqual(shownBody(m), { body: "see you at 8", deleted: false, edited: true }, "shown at once");
    assert.equal(room.messages.length, 1, "the edit is not a row of its own");
    signaling.server({ type: "ack", id: edit.id, seq: 2, ts: 1_700_000_100 });
    signaling.server(echo(2, edit, { ts: 1_700_000_100 }));
    assert.equal(m.body, "see you at 8");
    assert.equal(m.edited_at, 1_700_000_100);
    assert.equal(m.pending, null);
  });

  test("refused (not yours, gone, deleted): plain words, and the message shows as it was", async () => {
    const mine = serverMessage(1, { id: "x", sender: "me", name: "Me", body: "original" });
    const { room, signaling, errors } = await makeRoom({ history: [mine] });
    for (const [code, words] of [
      ["message_deleted", /was deleted/],
      ["message_not_found", /no longer in the room/],
      ["not_your_message", /your own messages/],
    ]) {
      const edit = room.edit("x", "changed");
      signaling.server({ type: "error", error: { code, message: "developer words" }, ref: edit.id });
      assert.match(errors.at(-1).message, words);
      assert.deepEqual(shownBody(room.messages[0]), { body: "original", deleted: false, edited: false });
    }
    assert.equal(room.messages.length, 1);
  });

  test("someone else's message cannot be edited or deleted: nothing is sent", async () => {
    const { room, signaling, errors } = await makeRoom({ history: [serverMessage(1)] });
    assert.equal(room.edit("m1", "mine now"), null);
    assert.equal(room.deleteMessage("m1"), null);
    assert.deepEqual(signaling.sentOf("chat"), []);
    assert.equal(errors.at(-1).code, "not_your_message");
  });

  test("made while the server is away: kept in the outbox across a reload, then sent and applied", async () => {
    const store = memoryStore();
    const mine = serverMessage(1, { id: "x", sender: "me", name: "Me", body: "draft" });
    const first = await makeRoom({ history: [mine], store });
    first.signaling.drop();
    const edit = first.room.edit("x", "final words");
    assert.equal(first.signaling.sentOf("chat").length, 0);
    await outboxHolds(store, [edit.id]);
    first.room.close();

    const second = await makeRoom({ history: [mine], store, join: false });
    assert.deepEqual(shown(second.room), [[1, "final words"]], "the reloaded page shows the edit waiting");
    second.signaling.join({ latest: 1 });
    second.signaling.server({ type: "stored", acks: [] });
    const sent = second.signaling.sentOf("chat");
    assert.deepEqual(
      sent.map((c) => [c.kind, c.ref, c.body]),
      [["edit", 1, "final words"]],
    );
    second.signaling.server({ type: "ack", id: edit.id, seq: 2, ts: 1_700_000_200 });
    assert.equal(second.room.messages[0].body, "final words");
    assert.equal(second.room.messages[0].edited_at, 1_700_000_200);
    await outboxHolds(store, []);
  });

  test("a message still in the outbox (never sent) is edited in place: one message, the new words", async () => {
    const { room, signaling, store } = await makeRoom();
    signaling.drop();
    const m = room.send("teh typo");
    assert.equal(room.edit(m.id, "the typo"), m);
    assert.equal(room.messages.length, 1);
    assert.equal(m.body, "the typo");
    await until(() => store.items.get(m.id)?.body === "the typo", "the stored copy to change");
    signaling.join({ latest: 0 });
    assert.deepEqual(
      signaling.sentOf("chat").map((c) => [c.kind, c.body]),
      [["text", "the typo"]],
      "no edit message: the server never had the old words",
    );
  });

  test("a message in flight (sent, no ack yet) is edited in place and again once stored", async () => {
    const { room, signaling } = await makeRoom();
    const m = room.send("teh typo");
    room.edit(m.id, "the typo");
    assert.equal(m.body, "the typo");
    signaling.server({ type: "ack", id: m.id, seq: 1, ts: 1 });
    const edit = signaling.sentOf("chat").at(-1);
    assert.deepEqual([edit.kind, edit.ref, edit.body], ["edit", 1, "the typo"]);
    signaling.server(echo(1, { id: m.id, kind: "text", ref: null, body: "teh typo" }));
    assert.equal(shownBody(m).body, "the typo", "the server's old words do not come back");
  });

  test("an edit over the size limit fails before it goes anywhere", async () => {
    const mine = serverMessage(1, { id: "x", sender: "me", name: "Me", body: "short" });
    const { room, signaling, errors } = await makeRoom({ history: [mine] });
    signaling.join({ latest: 1, limits: { max_body_bytes: 10 } });
    room.edit("x", "far too long for the limit");
    assert.deepEqual(signaling.sentOf("chat"), []);
    assert.equal(errors.at(-1).code, "body_too_large");
    assert.deepEqual(shownBody(room.messages[0]), { body: "short", deleted: false, edited: false });
  });
});

describe("delete", () => {
  test("a stored message: a deletion for everyone; the words leave the log, edits' words too", async () => {
    const mine = serverMessage(1, { id: "x", sender: "me", name: "Me", body: "oops" });
    const { room, signaling, errors } = await makeRoom({ history: [mine] });
    signaling.server(echo(2, { id: "e1", kind: "edit", ref: 1, body: "oops, fixed" }));
    const del = room.deleteMessage("x");
    assert.deepEqual([del.kind, del.ref, del.body], ["delete", 1, null]);
    assert.deepEqual(shown(room), [[1, "(deleted)"]], "shown deleted at once");
    signaling.server({ type: "ack", id: del.id, seq: 3, ts: 5 });
    const m = room.messages[0];
    assert.equal(m.body, null);
    assert.equal(m.deleted_at, 5);
    assert.equal(room.find("e1").body, null, "the edit's words are gone from this copy too");
    assert.equal(room.edit("x", "again"), null, "a deleted message takes no edit");
    assert.match(lastError(errors), /was deleted/, "and says so");
    assert.equal(room.deleteMessage("x"), null);
  });

  test("someone else deletes theirs: this copy drops the words and the edits' words", async () => {
    const { room, signaling } = await makeRoom({ history: [serverMessage(1, { body: "secret" })] });
    signaling.server(serverMessage(2, { id: "e", kind: "edit", ref: 1, body: "secret 2" }));
    assert.equal(room.messages[0].body, "secret 2");
    signaling.server(serverMessage(3, { id: "d", kind: "delete", ref: 1, body: null }));
    assert.equal(room.messages[0].body, null);
    assert.ok(room.messages[0].deleted_at);
    assert.equal(room.find("e").body, null);
  });

  test("a message still in the outbox leaves it: nothing is sent, ever", async () => {
    const { room, signaling, store } = await makeRoom();
    signaling.drop();
    const m = room.send("never mind");
    await outboxHolds(store, [m.id]);
    room.deleteMessage(m.id);
    assert.deepEqual(room.messages, []);
    await outboxHolds(store, []);
    signaling.join({ latest: 0 });
    assert.deepEqual(signaling.sentOf("chat"), []);
  });

  test("deleting drops the edits of it still waiting in the outbox: their words never leave", async () => {
    const mine = serverMessage(1, { id: "x", sender: "me", name: "Me", body: "a" });
    const { room, signaling, store } = await makeRoom({ history: [mine] });
    signaling.drop();
    const edit = room.edit("x", "private second thoughts");
    const del = room.deleteMessage("x");
    await outboxHolds(store, [del.id]);
    assert.equal(room.find(edit.id), undefined);
    signaling.join({ latest: 1 });
    signaling.server({ type: "stored", acks: [] });
    assert.deepEqual(
      signaling.sentOf("chat").map((c) => c.kind),
      ["delete"],
    );
  });

  test("a message in flight is deleted once the server has numbered it", async () => {
    const { room, signaling } = await makeRoom();
    const m = room.send("sent by mistake");
    room.deleteMessage(m.id);
    assert.equal(shownBody(m).deleted, true, "shown deleted at once");
    assert.deepEqual(signaling.sentOf("chat").length, 1, "the deletion waits for the seq: the server may have it");
    signaling.server({ type: "ack", id: m.id, seq: 1, ts: 1 });
    const del = signaling.sentOf("chat").at(-1);
    assert.deepEqual([del.kind, del.ref], ["delete", 1]);
    assert.equal(shownBody(m).deleted, true);
  });
});

describe("reply", () => {
  test("a reply is a text with ref = the target's seq; message(seq) finds the target", async () => {
    const { room, signaling } = await makeRoom({ history: [serverMessage(4)] });
    const reply = room.send("yes!", { replyTo: 4 });
    assert.deepEqual([reply.kind, reply.ref], ["text", 4]);
    assert.deepEqual(signaling.sentOf("chat").at(-1).ref, 4);
    assert.equal(room.message(4).body, "hello 4");
    assert.equal(room.message(99), undefined);
    assert.throws(() => room.send("x", { replyTo: 1.5 }), TypeError);
  });
});

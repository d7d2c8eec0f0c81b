// An end-to-end encrypted room (web/e2e/room-crypto.js in ChatRoom, with the recording
// fakes): what leaves for the server and the peers is sealed, never the words; what
// arrives sealed (live, replayed, history, data channel) shows opened, in order; what
// cannot be opened is a placeholder; a room made before encryption is untouched.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bodyBytes } from "../../src/peerlane/web/body-size.js";
import { ChatRoom } from "../../src/peerlane/web/chat.js";
import { clearBodyLimit, contentIdOf, RoomCrypto, UNDECRYPTABLE } from "../../src/peerlane/web/e2e/room-crypto.js";
import { openChatBody, RoomKey, sealChatBody, sealRoomName } from "../../src/peerlane/web/e2e/scheme.js";
import { formatHlc } from "../../src/peerlane/web/hlc.js";
import { memoryStore } from "../../src/peerlane/web/store.js";
import { FakeClock, fakeApi, peerChat, recordingFactories, serverMessage, until } from "./fakes.mjs";

const ALICE = { peer_id: "p-alice", participant_id: "alice", name: "Alice", role: "member" };
const secret = Uint8Array.from({ length: 32 }, (_, i) => i);

/** A sealed server message from alice (seq, body, and its content id's fields). */
async function sealed(key, seq, body, over = {}) {
  const m = serverMessage(seq, { body: null, ...over });
  return {
    ...m,
    body: await sealChatBody(key, body, { roomId: "room1", sender: m.sender, contentId: contentIdOf(m) }),
  };
}

async function makeRoom({ key, history = [], name = null, store = memoryStore() } = {}) {
  const e2e = new RoomCrypto("room1", key);
  const api = fakeApi({ history });
  if (name) {
    const getRoom = api.getRoom;
    api.getRoom = async (id) => {
      const view = await getRoom(id);
      return { ...view, room: { ...view.room, name } };
    };
  }
  const fakes = recordingFactories();
  let ids = 0;
  const room = new ChatRoom("room1", {
    api,
    store,
    clock: new FakeClock(),
    random: () => 0.5,
    newId: () => `id${++ids}`,
    e2e,
    ...fakes.factories,
  });
  await room.start();
  const signaling = fakes.signalings.at(-1);
  signaling.join({ peers: [ALICE] });
  await until(() => room.serverState === "online", "online");
  return { room, e2e, signaling, mesh: fakes.meshes.at(-1), store };
}

const shown = (room) => room.messages.map((m) => m.body);

describe("an encrypted room", async () => {
  const key = await RoomKey.fromSecret(secret);
  const sealedName = await sealRoomName(key, "Secret plans");

  test("own messages leave sealed, to the server and the peers; they show in the clear", async () => {
    const { room, signaling, mesh } = await makeRoom({ key, name: sealedName });
    assert.equal(room.roomInfo.name, "Secret plans");
    mesh.openChannel(ALICE);
    room.send("meet at noon");
    assert.deepEqual(shown(room), ["meet at noon"], "shown at once, while sealing");
    await until(() => signaling.sentOf("chat").length === 1, "the chat sent");
    const [chat] = signaling.sentOf("chat");
    assert.match(chat.body, /^e2e1\./);
    assert.ok(!JSON.stringify(signaling.sent).includes("noon"), "the words never reach the server");
    const ctx = { roomId: "room1", sender: "me", contentId: chat.id };
    assert.equal(await openChatBody(key, chat.body, ctx), "meet at noon");
    const [toPeer] = mesh.sentOf("chat");
    assert.equal(toPeer.message.body, chat.body);
  });

  test("an edit is sealed for the edited message's seq; a deletion stays null", async () => {
    const { room, signaling } = await makeRoom({ key, name: sealedName });
    room.send("first words");
    await until(() => signaling.sentOf("chat").length === 1, "sent");
    signaling.server({ type: "ack", id: "id1", seq: 4, ts: 1 });
    room.edit("id1", "second words");
    await until(() => signaling.sentOf("chat").length === 2, "the edit sent");
    const edit = signaling.sentOf("chat")[1];
    assert.equal(edit.kind, "edit");
    assert.equal(
      await openChatBody(key, edit.body, { roomId: "room1", sender: "me", contentId: "#4" }),
      "second words",
    );
    room.deleteMessage("id1");
    await until(() => signaling.sentOf("chat").length === 3, "the deletion sent");
    assert.equal(signaling.sentOf("chat")[2].body, null);
  });

  test("history, live and replayed messages and peers' chat open, in order", async () => {
    const history = [
      await sealed(key, 1, "edited in history", { edited_at: 9 }),
      await sealed(key, 2, { emoji: "👍" }, { kind: "reaction", ref: 1 }),
    ];
    const { room, signaling, mesh } = await makeRoom({ key, history, name: sealedName });
    assert.equal(room.messages[0].body, "edited in history");
    signaling.server(await sealed(key, 3, "live one"));
    signaling.server(await sealed(key, 4, "live two"));
    signaling.server(await sealed(key, 5, "edited one", { kind: "edit", ref: 3 }));
    await until(() => JSON.stringify(shown(room)).includes("edited one"), "the live edit");
    assert.deepEqual(shown(room).slice(0, 1), ["edited in history"]);
    assert.ok(!shown(room).includes("live one"), "the edit applied to its target");
    assert.ok(shown(room).includes("live two"));
    mesh.openChannel(ALICE);
    const body = await sealChatBody(key, "over the channel", { roomId: "room1", sender: "alice", contentId: "a1" });
    mesh.receive("p-alice", peerChat({ body }));
    await until(() => shown(room).includes("over the channel"), "the peer's message");
  });

  test("what cannot be opened is a placeholder, and the list goes on", async () => {
    const other = await RoomKey.fromSecret(new Uint8Array(32).fill(7));
    const { room, signaling } = await makeRoom({ key, name: sealedName });
    signaling.server(serverMessage(1, { body: "clear words the server made up" }));
    signaling.server(await sealed(other, 2, "another room's"));
    signaling.server({ ...(await sealed(key, 3, "moved")), id: "another-id" });
    signaling.server(await sealed(key, 4, "fine"));
    await until(() => shown(room).includes("fine"), "the good one");
    assert.deepEqual(shown(room), [UNDECRYPTABLE, UNDECRYPTABLE, UNDECRYPTABLE, "fine"]);
    const e2e = new RoomCrypto("room1", key);
    const codes = [];
    for (const m of [
      serverMessage(1, { body: "clear" }),
      await sealed(other, 2, "x"),
      { ...(await sealed(key, 3, "x")), id: "another-id" },
      await sealed(key, 4, "x", { sender: "mallory" }).then((m) => ({ ...m, sender: "alice" })),
      serverMessage(5, { body: "e2e9.later" }),
    ]) {
      codes.push(/** @type {any} */ (await e2e.openMessage(m)).e2e_error);
    }
    assert.deepEqual(codes, ["malformed", "wrong_key", "auth_failed", "auth_failed", "unsupported_version"]);
  });

  test("what waited in the outbox over a reload leaves sealed", async () => {
    const store = memoryStore();
    await store.outboxAdd({
      id: "old1",
      room_id: "room1",
      hlc: formatHlc(1_700_000_000_000, 0, "me"),
      sender: "me",
      sender_name: "Me",
      kind: "text",
      ref: null,
      body: "written before the reload",
      created_at: 0,
    });
    const { room, signaling } = await makeRoom({ key, name: sealedName, store });
    assert.deepEqual(shown(room), ["written before the reload"]);
    await until(() => signaling.sentOf("chat").length === 1, "the resend");
    const [chat] = signaling.sentOf("chat");
    assert.equal(chat.id, "old1");
    const ctx = { roomId: "room1", sender: "me", contentId: "old1" };
    assert.equal(await openChatBody(key, chat.body, ctx), "written before the reload");
  });

  test("without the key: nothing is sent, the message fails and says why", async () => {
    const noKey = await makeRoomWithoutKey(sealedName);
    noKey.room.send("words");
    await until(() => noKey.room.messages[0]?.state === "failed", "failed");
    assert.equal(noKey.signaling.sentOf("chat").length, 0);
    assert.equal(noKey.room.roomInfo.name, "Encrypted room");
  });
});

async function makeRoomWithoutKey(name) {
  return makeRoom({ key: null, name });
}

describe("this device's copy of the room", () => {
  test("what the room kept opened stays; what the home page kept sealed is opened", async () => {
    const key = await RoomKey.fromSecret(secret);
    const e2e = new RoomCrypto("room1", key);
    const kept = serverMessage(1, { body: "opened when it came" });
    assert.equal(await e2e.openKept(kept), kept);
    const sealedOne = await sealed(key, 2, "sealed as the server sent it");
    assert.equal((await e2e.openKept(sealedOne)).body, "sealed as the server sent it");
  });
});

describe("body limits", () => {
  test("the composer's limit leaves room for the envelope, exactly", async () => {
    const key = await RoomKey.fromSecret(secret);
    const ctx = { roomId: "r", sender: "me", contentId: "m" };
    for (const limit of [100, 1000, 65536]) {
      const clear = clearBodyLimit(limit);
      const fits = "x".repeat(clear - 2); // a JSON string: its quotes count
      assert.ok(bodyBytes(await sealChatBody(key, fits, ctx)) <= limit, `${limit}`);
      assert.ok(bodyBytes(await sealChatBody(key, `${fits}x`, ctx)) > limit, `${limit}`);
    }
    assert.equal(clearBodyLimit(Infinity), Infinity);
    assert.equal(clearBodyLimit(10), 0);
  });
});

describe("a room made before encryption", () => {
  test("bodies and the name pass as they are", async () => {
    const { room, signaling, e2e } = await makeRoom({ key: null, history: [serverMessage(1)] });
    assert.equal(e2e.encrypted, false);
    assert.equal(room.roomInfo.name, "Room");
    assert.deepEqual(shown(room), ["hello 1"]);
    room.send("plain");
    await until(() => signaling.sentOf("chat").length === 1, "sent");
    assert.equal(signaling.sentOf("chat")[0].body, "plain");
  });
});

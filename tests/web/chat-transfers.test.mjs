// ChatRoom ↔ Transfers: "file" messages reach the engine once each and stay out of the
// message list; control messages go out as chats of kind "file"; a peer's file channel
// is handed on.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatRoom } from "../../src/peerlane/web/chat.js";
import { memoryManifests, memoryStore as memoryPartials } from "../../src/peerlane/web/opfs.js";
import { memoryStore } from "../../src/peerlane/web/store.js";
import { Transfers } from "../../src/peerlane/web/transfer.js";
import { FakeClock, fakeApi, recordingFactories, serverMessage } from "./fakes.mjs";

const ALICE = { peer_id: "p-alice", participant_id: "alice", name: "Alice", role: "member" };
const ROOT = "933018179a539dfcd9b82a0799438882080b97dfc7afc0743e68e0667cac5ada";
const offer = (transfer, to = "me") => ({
  op: "offer",
  transfer,
  name: "a.bin",
  size: 2_621_440,
  type: "",
  root: ROOT,
  blocks: 3,
  to,
  peer: "p-alice",
});

async function makeRoom(history) {
  const clock = new FakeClock();
  const fakes = recordingFactories();
  const { signalings, meshes } = fakes;
  let ids = 0;
  const room = new ChatRoom("room1", {
    api: fakeApi({ history }),
    store: memoryStore(),
    clock,
    newId: () => `id${++ids}`,
    ...fakes.factories,
    transfersFactory: (r) => new Transfers(r, { manifests: memoryManifests(), partials: memoryPartials(), clock }),
  });
  await room.start();
  signalings.at(-1).join({ peers: [ALICE], latest: history.length });
  const end = Date.now() + 10_000;
  while (room.serverState !== "online" && Date.now() < end) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(room.serverState, "online");
  return { room, signaling: signalings.at(-1), mesh: meshes.at(-1) };
}

test("file offers in history reach room.transfers and stay in the timeline, joined by transfer id", async () => {
  const { room } = await makeRoom([
    serverMessage(1, { body: "hi" }),
    serverMessage(2, { kind: "file", body: offer("t1") }),
    serverMessage(3, { kind: "file", body: offer("t2", "someone-else") }),
  ]);
  assert.deepEqual(
    room.messages.map((m) => (m.kind === "file" ? `offer ${m.body.transfer}` : m.body)),
    ["hi", "offer t1", "offer t2"],
  );
  assert.deepEqual(
    room.transfers.list().map((v) => [v.id, v.state, v.senderName]),
    [["t1", "offered", "Alice"]],
  );
});

test("a live offer, then accept: the accept goes out as a chat of kind file", async () => {
  const { room, signaling } = await makeRoom([]);
  signaling.server(serverMessage(1, { kind: "file", body: offer("t9") }));
  assert.equal(room.transfers.get("t9").state, "offered");
  await room.transfers.accept("t9");
  const chats = signaling.sentOf("chat").filter((m) => m.kind === "file");
  assert.deepEqual(
    chats.map((m) => m.body),
    [{ op: "accept", have: 0, transfer: "t9" }],
  );
  assert.equal(room.transfers.get("t9").state, "waiting");
  // The offer is the timeline's row; the accept is not a row of its own.
  assert.deepEqual(
    room.messages.map((m) => m.body.op),
    ["offer"],
  );
});

test("the same offer by server and data channel is handled once", async () => {
  const { room, signaling, mesh } = await makeRoom([]);
  let seen = 0;
  room.addEventListener("file", () => seen++);
  mesh.openChannel(ALICE);
  mesh.receive("p-alice", {
    t: "chat",
    id: "m1",
    sender: "alice",
    sender_name: "Alice",
    hlc: "000000000000000000000alice",
    kind: "file",
    ref: null,
    body: offer("t5"),
  });
  signaling.server(serverMessage(1, { id: "m1", kind: "file", body: offer("t5") }));
  assert.equal(seen, 1);
  assert.equal(room.transfers.list().length, 1);
});

test("a peer's file channel is passed from the mesh to the room", async () => {
  const { room, mesh } = await makeRoom([]);
  const got = [];
  room.addEventListener("datachannel", (ev) => got.push(ev.detail.peerId));
  mesh.dispatchEvent(
    new CustomEvent("datachannel", { detail: { peerId: "p-alice", channel: { label: "file:x", close() {} } } }),
  );
  assert.deepEqual(got, ["p-alice"]);
  assert.equal(room.openDataChannel("p-alice", "file:x"), null, "the fake mesh has no openDataChannel");
});

test("transfersFactory: null turns file transfers off", () => {
  const room = new ChatRoom("room1", { transfersFactory: null });
  assert.equal(room.transfers, null);
});

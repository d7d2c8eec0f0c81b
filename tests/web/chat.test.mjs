import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { ChatRoom } from "../../src/peerlane/web/chat.js";
import { fromServer } from "../../src/peerlane/web/chat-inbound.js";
import { compareMessages } from "../../src/peerlane/web/chat-log.js";
import { formatHlc } from "../../src/peerlane/web/hlc.js";
import { memoryStore } from "../../src/peerlane/web/store.js";
import { FakeClock, fakeApi, hasSettled, peerChat, recordingFactories, serverMessage, until } from "./fakes.mjs";

const ALICE = { peer_id: "p-alice", participant_id: "alice", name: "Alice", role: "member" };
const BOB = { peer_id: "p-bob", participant_id: "bob", name: "Bob", role: "member" };

/**
 * A started room with recording fakes. `room.signaling` / `room.mesh` are the current fakes.
 */
async function makeRoom({
  history = [],
  store = memoryStore(),
  join = true,
  peers = [ALICE, BOB],
  read = {},
  limits = {},
  socket,
  idPrefix = "id",
} = {}) {
  const clock = new FakeClock();
  const api = fakeApi({ history });
  const fakes = recordingFactories();
  const { signalings, meshes } = fakes;
  let ids = 0;
  const room = new ChatRoom("room1", {
    api,
    store,
    clock,
    random: () => 0.5,
    newId: () => `${idPrefix}${++ids}`,
    socket,
    ...fakes.factories,
  });
  const events = [];
  for (const type of ["change", "peers", "status", "typing", "error", "deleted", "incoming"]) {
    room.addEventListener(type, (ev) => events.push({ type, detail: ev.detail }));
  }
  await room.start();
  const ctx = {
    room,
    clock,
    api,
    store,
    events,
    signalings,
    meshes,
    get signaling() {
      return signalings.at(-1);
    },
    get mesh() {
      return meshes.at(-1);
    },
  };
  if (join) ctx.signaling.join({ peers, read, limits, latest: room.messages.at(-1)?.seq ?? 0 });
  return ctx;
}

const bodies = (room) => room.messages.map((m) => m.body);

/** Wait until the outbox store holds exactly these ids (its writes are asynchronous). */
const outboxHolds = (store, ids) =>
  until(() => [...store.items.keys()].join() === ids.join(), `the outbox to hold [${ids}]`);

function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

/** `api[method]` answers only once the returned gate is resolved (a slow server). */
function holdAnswers(api, method) {
  const gate = deferred();
  const answer = api[method];
  api[method] = async (...args) => {
    const out = await answer(...args);
    await gate.promise;
    return out;
  };
  return gate;
}

describe("start", () => {
  test("the socket the joining page opened goes to the first connection", async () => {
    const socket = { readyState: 0 };
    const { signaling } = await makeRoom({ socket, join: false });
    assert.equal(signaling.options.socket, socket);
    assert.equal(signaling.options.lastSeq, null, "the socket's URL says hello at the present");
  });

  test("loads the latest page and connects at once, from the present", async () => {
    const history = [1, 2, 3].map((s) => serverMessage(s));
    const { room, api, signaling } = await makeRoom({ history, join: false });
    assert.deepEqual(
      api.calls.map((c) => c[0]),
      ["getRoom", "getMessages"],
    );
    assert.equal(api.calls[1][2].limit, 50);
    assert.deepEqual(bodies(room), ["hello 1", "hello 2", "hello 3"]);
    assert.equal(signaling.options.lastSeq, null, "hello without last_seq");
    assert.equal(signaling.options.socket, null, "no socket handed over: it opens its own");
    assert.equal(signaling.connects, 1);
    assert.equal(room.serverState, "connecting");
    assert.deepEqual(room.me, { participant_id: "me", peer_id: null, name: "Me", role: "owner" });
    assert.equal(room.roomInfo.id, "room1");
  });

  test("a message stored between the history page and the welcome is replayed", async () => {
    const history = [1, 2].map((s) => serverMessage(s));
    const { room, signaling } = await makeRoom({ history, join: false });
    signaling.join({ latest: 3 }); // the server's present is 3, the page ends at 2
    assert.deepEqual(signaling.rewinds, [2]);
    signaling.server(serverMessage(3));
    signaling.server({ type: "synced", latest_seq: 3 });
    assert.deepEqual(bodies(room), ["hello 1", "hello 2", "hello 3"]);
    assert.deepEqual(signaling.rewinds, [2], "once");
  });

  test("no gap, no replay (also when the page is newer than the welcome)", async () => {
    for (const latest of [2, 1]) {
      const { signaling } = await makeRoom({ history: [1, 2].map((s) => serverMessage(s)), join: false });
      signaling.join({ latest });
      assert.equal(signaling.rewinds, undefined);
    }
  });

  test("welcome and synced: online, peers handed to the mesh", async () => {
    const { room, mesh, events } = await makeRoom();
    assert.equal(room.serverState, "online");
    assert.equal(room.me.peer_id, "p-me");
    assert.deepEqual([...room.peers.keys()], ["p-alice", "p-bob"]);
    assert.equal(mesh.options.selfPeerId, "p-me");
    assert.equal(mesh.options.meshLimit, 8);
    assert.ok(events.some((e) => e.type === "status"));
    assert.equal(room.statusText, "Connected");
  });

  test("statusText is the room header's wording (status-text.js), not a second one", async () => {
    const ctx = await makeRoom();
    const { room, signaling } = ctx;
    signaling.drop();
    assert.equal(room.statusText, "Offline — messages will be sent when the connection returns");
    signaling.join({ latest: 0 });
    ctx.mesh.openChannel(ALICE); // the new connection's mesh
    assert.equal(room.statusText, "Connected to 1 person directly");
  });

  test("linksSettled: after the welcome, once no direct link negotiates, or after ms", async () => {
    const ctx = await makeRoom({ join: false });
    const { room, clock } = ctx;
    const beforeWelcome = room.linksSettled(250);
    assert.equal(await hasSettled(beforeWelcome), false, "the server has not said welcome yet");
    ctx.signaling.join({ peers: [ALICE, BOB], read: {}, limits: {}, latest: 0 });
    assert.equal(await hasSettled(beforeWelcome), true, "welcome, and no link negotiating");

    ctx.mesh.peers.get("p-alice").path = "connecting";
    const negotiating = room.linksSettled(250);
    assert.equal(await hasSettled(negotiating), false, "a direct link is connecting");
    ctx.mesh.openChannel(ALICE);
    assert.equal(await hasSettled(negotiating), true, "the link is up");

    ctx.mesh.peers.get("p-bob").path = "connecting";
    const stuck = room.linksSettled(250);
    clock.advance(249);
    assert.equal(await hasSettled(stuck), false);
    clock.advance(1);
    assert.equal(await hasSettled(stuck), true, "not waited for longer than ms");
    assert.equal(await hasSettled(room.linksSettled(0)), true, "at once with ms 0");
  });

  test("close() during start closes the connection", async () => {
    const clock = new FakeClock();
    const fakes = recordingFactories();
    const made = fakes.signalings;
    const room = new ChatRoom("r", {
      api: fakeApi(),
      store: memoryStore(),
      clock,
      ...fakes.factories,
    });
    const started = room.start();
    room.close();
    await started;
    assert.equal(made.length, 1);
    assert.equal(made[0].state, "closed");
  });

  test("everything at once: the mesh starts on the welcome, the rest waits for the history and the outbox", async () => {
    const history = [1, 2].map((s) => serverMessage(s));
    const api = fakeApi({ history });
    const gates = { room: holdAnswers(api, "getRoom"), messages: holdAnswers(api, "getMessages"), outbox: deferred() };
    const store = memoryStore();
    const outboxList = store.outboxList.bind(store);
    store.outboxList = async (id) => {
      await gates.outbox.promise;
      return outboxList(id);
    };
    const fakes = recordingFactories();
    const { signalings, meshes } = fakes;
    const room = new ChatRoom("room1", {
      api,
      store,
      clock: new FakeClock(),
      ...fakes.factories,
    });
    let done = false;
    const started = room.start().then(() => (done = true));
    await until(() => signalings.length === 1, "the connection");
    assert.deepEqual(
      api.calls.map((c) => c[0]),
      ["getRoom", "getMessages"],
      "both requests at once",
    );
    const [signaling] = signalings;
    assert.equal(signaling.connects, 1, "connecting before any answer");

    // The server answers before anything else: held until the room is known.
    signaling.join({ peers: [ALICE], latest: 2 });
    signaling.server(serverMessage(3));
    signaling.server({ type: "signal", sender: "p-alice", kind: "offer", data: { sdp: "x" } });
    assert.equal(meshes.length, 0);

    // The room is known (mesh_limit): the mesh starts, with the signal in order.
    gates.room.resolve();
    await until(() => meshes.length === 1, "the mesh, once the room is known");
    assert.equal(meshes.length, 1);
    assert.equal(meshes[0].options.selfPeerId, "p-me");
    assert.deepEqual(
      meshes[0].signals.map((x) => x.kind),
      ["offer"],
    );
    // A channel opens and a peer speaks before the history is in: held too.
    meshes[0].openChannel(ALICE);
    meshes[0].receive("p-alice", peerChat({ id: "early", body: "alice, early" }));
    assert.deepEqual(bodies(room), []);
    assert.equal(room.serverState, "connecting");
    assert.equal(done, false);

    gates.messages.resolve();
    gates.outbox.resolve();
    await started;
    assert.deepEqual(bodies(room), ["hello 1", "hello 2", "hello 3", "alice, early"]);
    assert.deepEqual([...room.peers.keys()], ["p-alice"]);
    assert.equal(room.serverState, "online");
    assert.deepEqual(signaling.rewinds, undefined, "3 came live: no gap");
  });

  test("outbox messages go to channels that opened before start() was ready", async () => {
    const store = memoryStore();
    await store.outboxAdd({
      id: "old1",
      room_id: "room1",
      hlc: formatHlc(1_600_000_000_000, 0, "me"),
      sender: "me",
      sender_name: "Me",
      kind: "text",
      ref: null,
      body: "unsent",
      created_at: 1,
    });
    const api = fakeApi();
    const gate = holdAnswers(api, "getMessages");
    const fakes = recordingFactories();
    const { signalings, meshes } = fakes;
    const room = new ChatRoom("room1", {
      api,
      store,
      clock: new FakeClock(),
      ...fakes.factories,
    });
    const started = room.start();
    await until(() => room.me !== null, "the room to be known");
    signalings[0].join({ peers: [ALICE] });
    meshes[0].openChannel(ALICE);
    gate.resolve();
    await started;
    assert.deepEqual(
      meshes[0].sentOf("chat").map((x) => x.message.body),
      ["unsent"],
    );
  });

  test("a file channel a peer opens before start() is ready is refused", async () => {
    const api = fakeApi();
    const gate = holdAnswers(api, "getMessages");
    const fakes = recordingFactories();
    const { signalings, meshes } = fakes;
    const room = new ChatRoom("room1", {
      api,
      store: memoryStore(),
      clock: new FakeClock(),
      transfersFactory: null,
      ...fakes.factories,
    });
    const seen = [];
    room.addEventListener("datachannel", (ev) => seen.push(ev.detail));
    const started = room.start();
    await until(() => room.me !== null, "the room to be known");
    signalings[0].join({ peers: [ALICE] });
    let closed = 0;
    const channel = { label: "file:t1", close: () => (closed += 1) };
    meshes[0].dispatchEvent(new CustomEvent("datachannel", { detail: { peerId: "p-alice", channel } }));
    assert.equal(closed, 1);
    gate.resolve();
    await started;
    meshes[0].dispatchEvent(new CustomEvent("datachannel", { detail: { peerId: "p-alice", channel } }));
    assert.equal(closed, 1);
    assert.equal(seen.length, 1);
  });

  test("given the room (creating or joining answered it), start() does not ask for it", async () => {
    const api = fakeApi({ history: [serverMessage(1)] });
    const view = {
      room: { id: "room1", name: "Given", created_at: 0, latest_seq: 1, retention: {}, url: "/r/room1" },
      participant: { id: "me", name: "Me", role: "member", online: false },
      mesh_limit: 3,
    };
    const fakes = recordingFactories();
    const { signalings, meshes } = fakes;
    const options = (v) => ({
      api,
      store: memoryStore(),
      clock: new FakeClock(),
      view: v,
      ...fakes.factories,
    });
    const room = new ChatRoom("room1", options(view));
    await room.start();
    assert.deepEqual(
      api.calls.map((c) => c[0]),
      ["getMessages"],
    );
    assert.equal(room.roomInfo.name, "Given");
    assert.deepEqual(room.me, { participant_id: "me", peer_id: null, name: "Me", role: "member" });
    signalings[0].join({ peers: [ALICE], latest: 1 });
    assert.equal(meshes[0].options.meshLimit, 3);
    room.close();

    // A view of another room is not used.
    const other = new ChatRoom("room2", options(view));
    await other.start();
    assert.deepEqual(
      api.calls.map((c) => c[0]),
      ["getMessages", "getRoom", "getMessages"],
    );
    other.close();
  });

  test("not a member: start() throws from the HTTP calls; close() closes the socket", async () => {
    const api = fakeApi();
    const unauthorized = Object.assign(new Error("no"), { status: 401, code: "unauthorized" });
    api.getRoom = async () => {
      throw unauthorized;
    };
    api.getMessages = async () => {
      throw unauthorized;
    };
    const fakes = recordingFactories();
    const { signalings } = fakes;
    const room = new ChatRoom("r", {
      api,
      store: memoryStore(),
      clock: new FakeClock(),
      ...fakes.factories,
    });
    await assert.rejects(room.start(), (err) => err === unauthorized);
    room.close();
    assert.equal(signalings[0].state, "closed");
  });
});

describe("ordering", () => {
  test("numbered messages by seq, then the rest by HLC", async () => {
    const { room, signaling, mesh } = await makeRoom({ history: [serverMessage(1)] });
    signaling.drop(); // offline: own messages stay unnumbered
    const mine = room.send("mine, later");
    mesh.openChannel(ALICE);
    mesh.receive("p-alice", peerChat({ id: "early", hlc: formatHlc(1, 0, "alice"), body: "alice, earlier" }));
    assert.deepEqual(bodies(room), ["hello 1", "alice, earlier", "mine, later"]);

    // Back online the server numbers mine first: it moves ahead of alice's.
    signaling.join({ latest: 1 });
    signaling.server({ type: "ack", id: mine.id, seq: 2, ts: 1_700_000_100 });
    assert.deepEqual(bodies(room), ["hello 1", "mine, later", "alice, earlier"]);
    signaling.server(serverMessage(3, { id: "early", body: "alice, earlier" }));
    assert.deepEqual(
      room.messages.map((m) => m.seq),
      [1, 2, 3],
    );
  });

  test("compareMessages: seq beats HLC; HLC ties broken by sender then id", () => {
    const m = (seq, hlc, sender = "a", id = "x") => ({ seq, hlc, sender, id });
    assert.ok(compareMessages(m(5, "9"), m(null, "0")) < 0);
    assert.ok(compareMessages(m(null, "1"), m(null, "2")) < 0);
    assert.ok(compareMessages(m(null, "1", "a"), m(null, "1", "b")) < 0);
    assert.ok(compareMessages(m(2, "9"), m(10, "0")) < 0);
  });

  test("'incoming': others' new messages as they come, once each; not history, own or hidden kinds", async () => {
    const history = Array.from({ length: 60 }, (_, i) => serverMessage(i + 1));
    const { room, signaling, mesh, events } = await makeRoom({ history });
    const incoming = () => events.filter((e) => e.type === "incoming").map((e) => e.detail.id);
    assert.deepEqual(incoming(), [], "the history loaded at the start is not news");
    await room.loadOlder();
    assert.equal(room.messages.length, 60);
    assert.deepEqual(incoming(), [], "nor an older page");
    signaling.server(serverMessage(61));
    signaling.server(serverMessage(61)); // again (a replay): once
    signaling.server(serverMessage(62, { kind: "reaction", body: "👍", ref: 61 }));
    const mine = room.send("mine");
    signaling.server({ type: "ack", id: mine.id, seq: 63, ts: 1 });
    mesh.openChannel(ALICE);
    mesh.receive("p-alice", {
      t: "chat",
      id: "direct1",
      sender: "alice",
      sender_name: "Alice",
      body: "hi",
      kind: "text",
      ref: null,
      hlc: "0000000000000:0000:alice",
    });
    assert.deepEqual(incoming(), ["m61", "direct1"]);
  });

  test("'incoming': a file offer is news (a notification says so); other file messages are not", async () => {
    const { signaling, events } = await makeRoom();
    const incoming = () => events.filter((e) => e.type === "incoming").map((e) => e.detail.id);
    const offer = { op: "offer", transfer: "t1", name: "photo.jpg", size: 10, type: "", to: null };
    signaling.server(serverMessage(1, { kind: "file", body: offer }));
    signaling.server(serverMessage(2, { kind: "file", body: { op: "accept", transfer: "t1" } }));
    assert.deepEqual(incoming(), ["m1"]);
  });

  test("history pages merge in order; loadOlder reports what is left", async () => {
    const history = Array.from({ length: 120 }, (_, i) => serverMessage(i + 1));
    const { room, api } = await makeRoom({ history });
    assert.equal(room.messages.length, 50);
    assert.equal(room.hasMore, true);
    assert.equal(await room.loadOlder(), true);
    assert.equal(api.calls.at(-1)[2].before, 71);
    assert.equal(room.messages.length, 100);
    assert.equal(await room.loadOlder(), false);
    assert.equal(room.messages.length, 120);
    assert.deepEqual(
      room.messages.map((m) => m.seq),
      history.map((m) => m.seq),
    );
    assert.equal(await room.loadOlder(), false);
  });
});

describe("dedupe", () => {
  test("the same message by data channel and by server is one entry", async () => {
    const { room, signaling, mesh } = await makeRoom();
    mesh.openChannel(ALICE);
    mesh.receive("p-alice", peerChat());
    assert.equal(room.messages.length, 1);
    assert.equal(room.messages[0].seq, null);
    assert.equal(room.messages[0].state, "delivered");
    assert.deepEqual(
      mesh.sentOf("ack").map((s) => [s.message, s.peerId]),
      [[{ t: "ack", id: "a1", sender: "alice" }, "p-alice"]],
    );

    signaling.server(serverMessage(1, { id: "a1", body: "hi from alice" }));
    mesh.receive("p-alice", peerChat()); // a resend after a channel reopened
    assert.equal(room.messages.length, 1);
    assert.equal(room.messages[0].seq, 1);
    assert.equal(room.messages[0].state, "sent");
    assert.equal(mesh.sentOf("ack").length, 2, "a resend is acked again");
  });

  test("same id from different senders are different messages", async () => {
    const { room, signaling } = await makeRoom();
    signaling.server(serverMessage(1, { id: "same", sender: "alice" }));
    signaling.server(serverMessage(2, { id: "same", sender: "bob", name: "Bob" }));
    assert.equal(room.messages.length, 2);
  });

  test("a peer cannot send in someone else's name", async () => {
    const { room, mesh } = await makeRoom();
    mesh.openChannel(ALICE);
    mesh.receive("p-alice", peerChat({ sender: "bob", sender_name: "Bob" }));
    mesh.receive("p-unknown", peerChat({ id: "x" }));
    mesh.receive("p-alice", peerChat({ id: "bad", kind: "nonsense" }));
    assert.equal(room.messages.length, 0);
  });
});

describe("states of own messages", () => {
  test("sending → sent → delivered → read", async () => {
    const { room, signaling, mesh, store } = await makeRoom();
    mesh.openChannel(ALICE);
    const m = room.send("hello");
    assert.equal(m.state, "sending");
    assert.deepEqual(room.messages, [m]);
    assert.deepEqual(signaling.sentOf("chat"), [{ type: "chat", id: "id1", body: "hello", kind: "text", ref: null }]);
    const dc = mesh.sentOf("chat")[0];
    assert.equal(dc.peerId, "p-alice");
    assert.equal(dc.message.hlc, m.hlc);
    await outboxHolds(store, ["id1"]);
    assert.deepEqual([...store.items.keys()], ["id1"]);

    signaling.server({ type: "ack", id: "id1", seq: 1, ts: 1_700_000_001 });
    assert.equal(m.state, "sent");
    assert.equal(m.seq, 1);
    await outboxHolds(store, []);
    assert.equal(store.items.size, 0);

    mesh.receive("p-alice", { t: "ack", id: "id1", sender: "me" });
    assert.equal(m.state, "delivered");

    signaling.server({ type: "receipt", participant_id: "alice", seq: 1 });
    assert.equal(m.state, "read");
    signaling.server(serverMessage(1, { id: "id1", sender: "me", name: "Me", body: "hello" }));
    assert.equal(m.state, "read", "the echo does not move it back");
    assert.equal(room.messages.length, 1);
  });

  test("a peer ack before the server ack: delivered stays delivered", async () => {
    const { room, signaling, mesh } = await makeRoom();
    mesh.openChannel(ALICE);
    const m = room.send("quick");
    mesh.receive("p-alice", { t: "ack", id: m.id, sender: "me" });
    assert.equal(m.state, "delivered");
    signaling.server({ type: "ack", id: m.id, seq: 7, ts: 1 });
    assert.equal(m.state, "delivered");
    assert.equal(m.seq, 7);
  });

  test("own read receipts (another tab) do not mark messages read", async () => {
    const { room, signaling } = await makeRoom();
    const m = room.send("x");
    signaling.server({ type: "ack", id: m.id, seq: 1, ts: 1 });
    signaling.server({ type: "receipt", participant_id: "me", seq: 1 });
    assert.equal(m.state, "sent");
  });

  test("who has read a message: by name, each reader counted, a later reader shown too", async () => {
    const { room, signaling, events } = await makeRoom();
    const m = room.send("x");
    signaling.server({ type: "ack", id: m.id, seq: 3, ts: 1 });
    assert.deepEqual(room.readers(3), []);
    signaling.server({ type: "receipt", participant_id: "bob", seq: 5 });
    assert.equal(m.state, "read");
    assert.deepEqual(room.readers(3), ["Bob"]);
    await until(() => events.some((e) => e.type === "change"), "a change");
    events.length = 0;
    // Alice reads up to 3 only: no further than Bob, but one more reader of m.
    signaling.server({ type: "receipt", participant_id: "alice", seq: 3 });
    assert.deepEqual(room.readers(3), ["Bob", "Alice"]);
    assert.deepEqual(room.readers(4), ["Bob"]);
    await until(() => events.some((e) => e.type === "change"), "a change for the new reader");
    signaling.server({ type: "receipt", participant_id: "me", seq: 9 });
    assert.deepEqual(room.readers(3), ["Bob", "Alice"], "never oneself");
  });

  test("a reader who is not in the room now is named from their messages", async () => {
    const { room, signaling } = await makeRoom({ peers: [] });
    signaling.server({
      type: "message",
      id: "c1",
      seq: 1,
      sender: "carol",
      sender_name: "Carol",
      body: "hi",
      kind: "text",
      ts: 1,
      hlc: "0",
    });
    const m = room.send("x");
    signaling.server({ type: "ack", id: m.id, seq: 2, ts: 2 });
    signaling.server({ type: "receipt", participant_id: "carol", seq: 2 });
    signaling.server({ type: "receipt", participant_id: "dan", seq: 2 });
    assert.deepEqual(room.readers(2), ["Carol", "Someone"]);
  });

  test("read positions from welcome apply to messages numbered later", async () => {
    const { room, signaling } = await makeRoom({ read: { alice: 5 } });
    const m = room.send("x");
    signaling.server({ type: "ack", id: m.id, seq: 4, ts: 1 });
    assert.equal(m.state, "read");
  });

  test("an unknown error fails the message; retry sends it again with the same id", async () => {
    const { room, signaling, store, events } = await makeRoom();
    const m = room.send("x".repeat(20_000));
    await outboxHolds(store, [m.id]);
    signaling.server({ type: "error", error: { code: "some_new_code", message: "Not now." }, ref: m.id });
    assert.equal(m.state, "failed");
    assert.ok(!m.final, "a code this client does not know may pass another time");
    await outboxHolds(store, []);
    assert.equal(store.items.size, 0);
    assert.deepEqual(
      events.filter((e) => e.type === "error").map((e) => e.detail),
      [{ code: "some_new_code", message: "Not now." }],
    );

    assert.equal(room.retry(m.id), true);
    assert.equal(m.state, "sending");
    assert.deepEqual(
      signaling.sentOf("chat").map((c) => c.id),
      [m.id, m.id],
    );
    await outboxHolds(store, [m.id]);
    assert.ok(store.items.has(m.id));
    signaling.server({ type: "ack", id: m.id, seq: 1, ts: 1 });
    assert.equal(m.state, "sent");
    assert.equal(room.retry(m.id), false, "only failed messages can be retried");
  });

  test("a body over the server's limit fails at once for good and never reaches peers or server", async () => {
    const { room, signaling, mesh, store, events } = await makeRoom({ limits: { max_body_bytes: 10 } });
    assert.equal(room.maxBodyBytes, 10);
    const m = room.send("é".repeat(6)); // 12 UTF-8 bytes + 2 quotes: over 10
    assert.equal(m.state, "failed");
    assert.equal(m.final, true, "no Retry: the same body can never pass");
    assert.deepEqual(signaling.sentOf("chat"), []);
    assert.deepEqual(mesh.sent, []);
    assert.equal(store.items.size, 0);
    const errors = events.filter((e) => e.type === "error").map((e) => e.detail);
    assert.deepEqual(
      errors.map((e) => e.code),
      ["body_too_large"],
    );
    assert.equal(
      errors[0].message,
      "That message is too long to send (14 bytes; at most 10 bytes). Delete it, or send the text as a file.",
    );
    assert.equal(room.retry(m.id), false, "retry is refused: it cannot succeed");
    assert.equal(m.state, "failed");
    assert.deepEqual(signaling.sentOf("chat"), []);
    assert.equal(room.send("ok").state, "sending");
  });

  test("a message the server refuses for its size: no Retry, plain words, and Delete takes it away", async () => {
    const { room, signaling, store, events } = await makeRoom();
    const m = room.send("x".repeat(20_000));
    await outboxHolds(store, [m.id]);
    signaling.server({
      type: "error",
      error: { code: "body_too_large", message: "Chat bodies are limited to 16384 bytes." },
      ref: m.id,
    });
    assert.equal(m.state, "failed");
    assert.equal(m.final, true);
    assert.equal(room.retry(m.id), false);
    const [error] = events.filter((e) => e.type === "error").map((e) => e.detail);
    assert.equal(error.code, "body_too_large");
    assert.doesNotMatch(error.message, /Chat bodies|16384/, "never the server's developer wording");
    assert.match(error.message, /too long/);

    const other = room.send("kept");
    assert.equal(room.discard(other.id), false, "only failed messages can be deleted");
    assert.equal(room.discard(m.id), true);
    assert.equal(room.messages.includes(m), false, "gone from the list");
    assert.equal(room.discard(m.id), false, "once");
    await outboxHolds(store, [other.id]);
  });

  test("a message that failed while waiting in the outbox can be deleted from it", async () => {
    const { room, signaling, store } = await makeRoom();
    const m = room.send("hello");
    await outboxHolds(store, [m.id]);
    signaling.server({ type: "error", error: { code: "some_new_code", message: "No." }, ref: m.id });
    assert.equal(room.discard(m.id), true);
    assert.equal(room.retry(m.id), false, "deleted: nothing to retry");
    assert.deepEqual(room.messages, []);
    await outboxHolds(store, []);
  });

  test("a transient error keeps the message and retries with backoff", async () => {
    const { room, signaling, clock, store } = await makeRoom();
    const m = room.send("busy");
    const rateLimited = { type: "error", error: { code: "rate_limited", message: "Slow down." }, ref: m.id };
    signaling.server(rateLimited);
    assert.equal(m.state, "sending");
    clock.advance(400);
    assert.equal(signaling.sentOf("chat").length, 1, "not before the backoff");
    clock.advance(400); // first retry within 0.5–1 s (random 0.5 → 750 ms)
    assert.equal(signaling.sentOf("chat").length, 2);
    signaling.server(rateLimited);
    clock.advance(1_000);
    assert.equal(signaling.sentOf("chat").length, 2, "the second wait is longer");
    clock.advance(1_000);
    assert.equal(signaling.sentOf("chat").length, 3);
    await outboxHolds(store, [m.id]);
    assert.ok(store.items.has(m.id));
    signaling.server({ type: "ack", id: m.id, seq: 1, ts: 1 });
    clock.advance(60_000);
    assert.equal(signaling.sentOf("chat").length, 3, "acked: no more retries");
  });
});

describe("outbox", () => {
  test("flushes exactly once, in order, after a reconnect", async () => {
    const { room, signaling, mesh, store } = await makeRoom();
    mesh.openChannel(ALICE);
    signaling.drop();
    assert.equal(room.serverState, "offline");
    const a = room.send("first");
    const b = room.send("second");
    assert.equal(signaling.sentOf("chat").length, 0);
    assert.equal(mesh.sentOf("chat").length, 2, "peers get them directly meanwhile");
    assert.equal(room.statusText, "Reconnecting to the server — chatting directly with 1 person");

    signaling.join({ latest: 0 });
    assert.equal(room.serverState, "online");
    assert.deepEqual(
      signaling.sentOf("chat").map((c) => c.body),
      ["first", "second"],
    );
    signaling.server({ type: "synced", latest_seq: 0 }); // a second synced (after a sync) does not flush again
    signaling.setState("open");
    assert.equal(signaling.sentOf("chat").length, 2);

    signaling.server({ type: "ack", id: a.id, seq: 1, ts: 1 });
    signaling.server({ type: "ack", id: b.id, seq: 2, ts: 2 });
    assert.equal(store.items.size, 0);
    signaling.drop();
    signaling.join({ latest: 2 });
    assert.equal(signaling.sentOf("chat").length, 2, "nothing left to flush");
  });

  test("a message stored before the connection dropped is not resent", async () => {
    const { room, signaling } = await makeRoom();
    const m = room.send("maybe stored");
    signaling.drop(); // the ack was lost with the connection
    const echo = serverMessage(1, { id: m.id, sender: "me", name: "Me", body: "maybe stored" });
    signaling.join({ latest: 1, replay: [echo] });
    assert.equal(signaling.sentOf("chat").length, 1, "only the original send");
    assert.equal(m.state, "sent");
    assert.equal(m.seq, 1);
  });

  test("survives a reload: shown as sending, sent once connected", async () => {
    const store = memoryStore();
    const first = await makeRoom({ store });
    first.signaling.drop();
    first.room.send("written offline");
    await outboxHolds(store, [first.room.messages[0].id]);
    first.room.close();

    const second = await makeRoom({ store, join: false });
    assert.deepEqual(
      second.room.messages.map((m) => [m.body, m.state]),
      [["written offline", "sending"]],
    );
    assert.equal(second.signaling.sentOf("chat").length, 0);
    second.signaling.join();
    assert.deepEqual(
      second.signaling.sentOf("chat").map((c) => c.body),
      ["written offline"],
    );
  });

  test("after a reload, an outbox item the history already has is dropped", async () => {
    const store = memoryStore();
    await store.outboxAdd({
      id: "old",
      room_id: "room1",
      hlc: formatHlc(1, 0, "me"),
      sender: "me",
      sender_name: "Me",
      kind: "text",
      ref: null,
      body: "stored",
      created_at: 1,
    });
    const history = [serverMessage(1, { id: "old", sender: "me", name: "Me", body: "stored" })];
    const { room, signaling } = await makeRoom({ store, history });
    assert.equal(store.items.size, 0);
    assert.equal(room.messages.length, 1);
    assert.equal(room.messages[0].state, "sent");
    assert.equal(signaling.sentOf("chat").length, 0);
  });

  test("an opening channel gets the unconfirmed messages", async () => {
    const { room, signaling, mesh } = await makeRoom();
    signaling.drop();
    room.send("while alone");
    mesh.openChannel(BOB);
    assert.deepEqual(
      mesh.sent.map((s) => [s.message.t, s.peerId]),
      [
        ["hello", "p-bob"],
        ["chat", "p-bob"],
      ],
    );
  });
});

describe("resending exactly the missing messages", () => {
  /** A page that crashed after sending three messages, none acked; then the page again. */
  async function crashedWithThree() {
    const store = memoryStore();
    const first = await makeRoom({ store });
    const sent = ["one", "two", "three"].map((text) => first.room.send(text));
    assert.equal(first.signaling.sentOf("chat").length, 3, "the server got all three");
    await outboxHolds(
      store,
      sent.map((m) => m.id),
    );
    first.room.close(); // no ack came: the outbox keeps all three
    const second = await makeRoom({ store, join: false, idPrefix: "reloaded" });
    second.signaling.answerStored = false; // the test answers
    return { ...second, ids: sent.map((m) => m.id) };
  }

  test("3 unacked, 2 of them stored: exactly the 1 missing is resent", async () => {
    const { room, signaling, store, ids } = await crashedWithThree();
    signaling.join();
    assert.deepEqual(signaling.sentOf("stored"), [{ type: "stored", ids }]);
    assert.equal(signaling.sentOf("chat").length, 0, "nothing resent before the answer");

    signaling.server({
      type: "stored",
      acks: [
        { type: "ack", id: ids[0], seq: 7, ts: 70 },
        { type: "ack", id: ids[2], seq: 9, ts: 90 },
      ],
      missing: [ids[1]],
    });

    assert.deepEqual(
      signaling.sentOf("chat").map((c) => [c.id, c.body]),
      [[ids[1], "two"]],
    );
    const byBody = Object.fromEntries(room.messages.map((m) => [m.body, m]));
    assert.deepEqual([byBody.one.state, byBody.one.seq], ["sent", 7]);
    assert.deepEqual([byBody.three.state, byBody.three.seq], ["sent", 9]);
    assert.deepEqual([byBody.two.state, byBody.two.seq], ["sending", null]);
    await outboxHolds(store, [ids[1]]);
    assert.deepEqual([...store.items.keys()], [ids[1]], "the outbox keeps only the missing one");
    signaling.server({ type: "ack", id: ids[1], seq: 10, ts: 100 });
    assert.equal(byBody.two.state, "sent");
  });

  test("a message written while the question is open waits, then goes after the missing one", async () => {
    const { room, signaling, ids } = await crashedWithThree();
    signaling.join();
    const later = room.send("written meanwhile");
    assert.equal(signaling.sentOf("chat").length, 0);

    signaling.server({ type: "stored", acks: [], missing: ids });

    assert.deepEqual(
      signaling.sentOf("chat").map((c) => c.body),
      ["one", "two", "three", "written meanwhile"],
    );
    assert.equal(later.state, "sending");
  });

  test("an older server that does not know the question: everything is resent (it drops duplicates)", async () => {
    const { signaling } = await crashedWithThree();
    signaling.join();
    signaling.server({ type: "error", error: { code: "unknown_type", message: "Unknown message type" }, ref: null });
    assert.deepEqual(
      signaling.sentOf("chat").map((c) => c.body),
      ["one", "two", "three"],
    );
  });

  test("the connection drops before the answer: the next connection asks again", async () => {
    const { signaling, ids } = await crashedWithThree();
    signaling.join();
    signaling.drop();
    signaling.join();
    assert.equal(signaling.sentOf("stored").length, 2);
    signaling.server({ type: "stored", acks: [], missing: ids });
    assert.equal(signaling.sentOf("chat").length, 3, "sent once, by the answered question");
  });

  test("more unacked messages than one question holds are asked in parts", async () => {
    const { room, signaling } = await makeRoom();
    signaling.drop();
    const sent = Array.from({ length: 150 }, (_, i) => room.send(`m${i}`));
    signaling.answerStored = false;
    signaling.join();
    const questions = signaling.sentOf("stored");
    assert.deepEqual(
      questions.map((q) => q.ids.length),
      [100, 50],
    );
    assert.deepEqual(
      questions.flatMap((q) => q.ids),
      sent.map((m) => m.id),
    );
    signaling.server({
      type: "stored",
      acks: [{ type: "ack", id: sent[0].id, seq: 1, ts: 1 }],
      missing: questions[0].ids.slice(1),
    });
    assert.equal(signaling.sentOf("chat").length, 0, "the second part is not answered yet");
    signaling.server({ type: "stored", acks: [], missing: questions[1].ids });
    assert.equal(signaling.sentOf("chat").length, 149);
    assert.equal(signaling.sentOf("chat")[0].id, sent[1].id);
  });

  test("nothing unacked: no question", async () => {
    const { signaling } = await makeRoom();
    signaling.drop();
    signaling.join();
    assert.equal(signaling.sentOf("stored").length, 0);
  });

  test("signaling is told while messages wait for their ack", async () => {
    const { room, signaling } = await makeRoom();
    const a = room.send("a");
    const b = room.send("b");
    assert.equal(signaling.awaiting.at(-1), true);
    signaling.server({ type: "ack", id: a.id, seq: 1, ts: 1 });
    assert.equal(signaling.awaiting.at(-1), true, "b still waits");
    signaling.server({ type: "ack", id: b.id, seq: 2, ts: 2 });
    assert.equal(signaling.awaiting.at(-1), false);
  });
});

describe("reactions", () => {
  test("aggregate per emoji and toggle per participant", async () => {
    const { room, signaling } = await makeRoom();
    signaling.server(serverMessage(1, { body: "react to me" }));
    const reaction = (seq, id, sender, emoji) =>
      serverMessage(seq, { id, sender, name: sender, kind: "reaction", ref: 1, body: emoji });
    signaling.server(reaction(2, "r1", "alice", "👍"));
    signaling.server(reaction(3, "r2", "bob", "👍"));
    signaling.server(reaction(4, "r3", "bob", "🎉"));
    const target = room.messages[0];
    assert.equal(room.messages.length, 1, "reactions are not rows");
    assert.deepEqual(
      [...target.reactions].map(([e, who]) => [e, [...who]]),
      [
        ["👍", ["alice", "bob"]],
        ["🎉", ["bob"]],
      ],
    );

    signaling.server(reaction(5, "r4", "bob", "👍")); // bob again: takes it back
    assert.deepEqual([...target.reactions.get("👍")], ["alice"]);
    signaling.server(reaction(6, "r5", "alice", "👍"));
    assert.equal(target.reactions.has("👍"), false, "empty emoji entries disappear");
  });

  test("own reaction shows at once, goes to server and peers, toggles", async () => {
    const { room, signaling, mesh } = await makeRoom();
    mesh.openChannel(ALICE);
    signaling.server(serverMessage(1));
    const r = room.react(1, "❤️");
    assert.deepEqual(signaling.sentOf("chat").at(-1), { type: "chat", id: r.id, body: "❤️", kind: "reaction", ref: 1 });
    assert.equal(mesh.sentOf("chat").at(-1).message.kind, "reaction");
    assert.deepEqual([...room.messages[0].reactions.get("❤️")], ["me"]);
    room.react(1, "❤️");
    assert.equal(room.messages[0].reactions.has("❤️"), false);
    assert.throws(() => room.react(null, "x"), TypeError);
  });

  test("a failed reaction does not count; reactions loaded before their target apply later", async () => {
    const { room, signaling } = await makeRoom({
      history: [serverMessage(60, { kind: "reaction", ref: 3, body: "👀", sender: "bob" })],
    });
    signaling.server(serverMessage(61));
    const r = room.react(61, "👍");
    signaling.server({ type: "error", error: { code: "invalid_message", message: "no" }, ref: r.id });
    assert.equal(room.messages.at(-1).reactions.size, 0);
    // The target of the loaded reaction (seq 3) arrives with an older page.
    fromServer(room, serverMessage(3));
    assert.deepEqual([...room.messages[0].reactions.get("👀")], ["bob"]);
  });
});

describe("typing", () => {
  test("others typing expires after 6 s unless renewed", async () => {
    const { room, signaling, clock, events } = await makeRoom();
    signaling.server({ type: "typing", peer_id: "p-alice", name: "Alice", active: true });
    assert.deepEqual([...room.typing], [["alice", "Alice"]]);
    assert.equal(events.filter((e) => e.type === "typing").length, 1);
    clock.advance(4_000);
    signaling.server({ type: "typing", peer_id: "p-alice", name: "Alice", active: true });
    clock.advance(4_000);
    assert.equal(room.typing.size, 1, "renewed");
    clock.advance(2_001);
    assert.equal(room.typing.size, 0);
    assert.equal(events.filter((e) => e.type === "typing").length, 2);
  });

  test("stops on active:false and on a message from them; data-channel typing counts too", async () => {
    const { room, signaling, mesh } = await makeRoom();
    signaling.server({ type: "typing", peer_id: "p-alice", name: "Alice", active: true });
    signaling.server({ type: "typing", peer_id: "p-alice", name: "Alice", active: false });
    assert.equal(room.typing.size, 0);
    mesh.openChannel(BOB);
    mesh.receive("p-bob", { t: "typing", participant_id: "bob", name: "Bob", active: true });
    assert.deepEqual([...room.typing.keys()], ["bob"]);
    signaling.server(serverMessage(1, { sender: "bob", name: "Bob" }));
    assert.equal(room.typing.size, 0);
  });

  test("own typing is throttled to one message per 3 s and ends after 5 s idle", async () => {
    const { room, signaling, clock } = await makeRoom();
    room.setTyping(true);
    clock.advance(1_000);
    room.setTyping(true);
    clock.advance(1_000);
    room.setTyping(true);
    assert.deepEqual(signaling.sentOf("typing"), [{ type: "typing", active: true }]);
    clock.advance(1_000);
    room.setTyping(true);
    assert.equal(signaling.sentOf("typing").length, 2);
    clock.advance(5_000);
    assert.deepEqual(signaling.sentOf("typing").at(-1), { type: "typing", active: false });
    room.setTyping(false);
    assert.equal(signaling.sentOf("typing").length, 3, "already stopped: nothing more");
  });

  test("offline, typing goes over data channels", async () => {
    const { room, signaling, mesh } = await makeRoom();
    mesh.openChannel(ALICE);
    signaling.drop();
    room.setTyping(true);
    assert.deepEqual(mesh.sentOf("typing")[0].message, { t: "typing", participant_id: "me", name: "Me", active: true });
  });
});

describe("read receipts", () => {
  test("markRead is debounced and sends the highest seq once", async () => {
    const { room, signaling, clock } = await makeRoom();
    room.markRead(3);
    room.markRead(5);
    room.markRead(4);
    assert.equal(signaling.sentOf("receipt").length, 0);
    clock.advance(1_000);
    assert.deepEqual(signaling.sentOf("receipt"), [{ type: "receipt", seq: 5 }]);
    room.markRead(5);
    clock.advance(2_000);
    assert.equal(signaling.sentOf("receipt").length, 1);
  });

  test("offline: read over data channels, and to the server once back", async () => {
    const { room, signaling, mesh, clock } = await makeRoom();
    mesh.openChannel(ALICE);
    signaling.drop();
    room.markRead(9);
    clock.advance(1_000);
    assert.deepEqual(mesh.sentOf("read")[0].message, { t: "read", participant_id: "me", seq: 9 });
    signaling.join({ latest: 9 });
    assert.deepEqual(signaling.sentOf("receipt"), [{ type: "receipt", seq: 9 }]);
  });

  test("a data-channel read marks own messages read", async () => {
    const { room, signaling, mesh } = await makeRoom();
    mesh.openChannel(ALICE);
    const m = room.send("x");
    signaling.server({ type: "ack", id: m.id, seq: 2, ts: 1 });
    mesh.receive("p-alice", { t: "read", participant_id: "bob", seq: 2 }); // spoofed: ignored
    assert.equal(m.state, "sent");
    mesh.receive("p-alice", { t: "read", participant_id: "alice", seq: 2 });
    assert.equal(m.state, "read");
  });
});

describe("connection", () => {
  let ctx;
  beforeEach(async () => {
    ctx = await makeRoom();
  });

  test("presence updates the peers and the mesh", () => {
    const { room, signaling, events } = ctx;
    const carol = { peer_id: "p-carol", participant_id: "carol", name: "Carol", role: "member" };
    signaling.server({ type: "presence", event: "joined", peer: carol });
    assert.ok(room.peers.has("p-carol"));
    signaling.server({ type: "presence", event: "left", peer: ALICE });
    assert.equal(room.peers.has("p-alice"), false);
    assert.ok(events.filter((e) => e.type === "peers").length >= 2);
  });

  test("signals go to the mesh; the mesh signals through the server", () => {
    const { signaling, mesh } = ctx;
    signaling.server({ type: "signal", sender: "p-alice", kind: "offer", data: { type: "offer", sdp: "x" } });
    assert.equal(mesh.signals.length, 1);
    assert.equal(mesh.options.sendSignal("p-alice", "answer", { sdp: "y" }), true);
    assert.deepEqual(signaling.sentOf("signal"), [
      { type: "signal", to: "p-alice", kind: "answer", data: { sdp: "y" } },
    ]);
  });

  test("a new welcome replaces the mesh (new peer id) without byes", () => {
    const { room, signaling, meshes } = ctx;
    signaling.drop();
    signaling.join({ peerId: "p-me2", peers: [BOB] });
    assert.equal(meshes.length, 2);
    assert.deepEqual(meshes[0].closed, { notify: false });
    assert.equal(room.me.peer_id, "p-me2");
    assert.deepEqual([...room.peers.keys()], ["p-bob"]);
  });

  test("a socket drop keeps the mesh and its open channels; the status says so, never 'Offline'", () => {
    const { room, signaling, meshes, mesh } = ctx;
    mesh.openChannel(ALICE);
    signaling.drop();
    assert.equal(meshes.length, 1, "no new mesh while the socket reconnects");
    assert.equal(mesh.closed, null, "the mesh stays up");
    assert.equal(room.directCount, 1);
    assert.equal(room.statusText, "Reconnecting to the server — chatting directly with 1 person");
    const m = room.send("still here");
    assert.deepEqual(
      mesh.sentOf("chat").map((s) => [s.peerId, s.message.id]),
      [["p-alice", m.id]],
    );
  });

  test("status: the count of open channels", () => {
    const { room, mesh, events } = ctx;
    const before = events.filter((e) => e.type === "status").length;
    mesh.openChannel(ALICE);
    assert.equal(room.directCount, 1);
    assert.equal(events.filter((e) => e.type === "status").length, before + 1);
  });

  test("unauthorized close ends the room with an error event", () => {
    const { room, signaling, events } = ctx;
    signaling.setState("closed", "unauthorized");
    assert.equal(room.serverState, "offline");
    assert.equal(room.ended, "unauthorized");
    assert.equal(events.filter((e) => e.type === "error").at(-1).detail.code, "unauthorized");
  });

  test("removed by the owner: the room ends with a plain message", () => {
    const { room, signaling, events } = ctx;
    signaling.setState("closed", "removed");
    assert.equal(room.ended, "removed");
    assert.deepEqual(events.filter((e) => e.type === "error").at(-1).detail, {
      code: "participant_removed",
      message: "The room's owner removed you from this room.",
    });
    assert.equal(room.statusText, "Removed from this room");
  });

  test("room deleted: a deleted event", () => {
    const { room, signaling, events } = ctx;
    signaling.setState("closed", "room_gone");
    assert.ok(events.some((e) => e.type === "deleted"));
    assert.equal(room.statusText, "This room was deleted");
  });

  test("server errors without ref become error events, except routine ones", () => {
    const { signaling, events } = ctx;
    signaling.server({ type: "error", error: { code: "peer_not_found", message: "gone" }, ref: null });
    signaling.server({ type: "error", error: { code: "rate_limited", message: "slow" }, ref: null });
    assert.deepEqual(
      events.filter((e) => e.type === "error").map((e) => e.detail.code),
      ["rate_limited"],
    );
  });

  test("close() says goodbye: signaling closed, mesh closed with byes, typing stopped", () => {
    const { room, signaling, mesh } = ctx;
    mesh.openChannel(ALICE);
    room.setTyping(true);
    room.close();
    assert.deepEqual(signaling.sentOf("signal"), [
      { type: "signal", to: "p-alice", kind: "bye", data: { reason: "leave" } },
    ]);
    assert.deepEqual(
      signaling.sentOf("typing").map((t) => t.active),
      [true, false],
    );
    assert.equal(signaling.state, "closed");
    assert.deepEqual(mesh.closed, { notify: true });
  });

  test("change events are coalesced per burst", async () => {
    const { room, signaling, events } = ctx;
    const changes = () => events.filter((e) => e.type === "change").length;
    const before = changes();
    for (let seq = 1; seq <= 100; seq++) signaling.server(serverMessage(seq));
    await until(() => changes() > before, "a change event");
    assert.equal(changes(), before + 1, "one for the burst");
    assert.equal(room.messages.length, 100);
  });
});

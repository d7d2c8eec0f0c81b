// A new server connection with the same peer id keeps the direct links that work
// (Mesh.resume, chat-peers.js restart): no teardown, no new offer; peers truly gone are
// still dropped. docs/protocol.md "Resuming a peer id".
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { ChatRoom } from "../../src/peerlane/web/chat.js";
import { Mesh } from "../../src/peerlane/web/mesh.js";
import { memoryStore } from "../../src/peerlane/web/store.js";
import { FakeClock, FakePeerConnection, fakeApi, recordingFactories, settle, until } from "./fakes.mjs";

const ME = { peer_id: "p-me", participant_id: "me", name: "Me", role: "owner" };
const BOB = { peer_id: "p-bob", participant_id: "bob", name: "Bob", role: "member" };
const CAROL = { peer_id: "p-carol", participant_id: "carol", name: "Carol", role: "member" };

beforeEach(() => {
  FakePeerConnection.all.length = 0;
});

/**
 * A ChatRoom whose mesh is real (over FakePeerConnection), and the other peers' meshes,
 * with the signals relayed in memory as the server would. `offers` records every offer.
 */
async function roomWithPeers(others) {
  const clock = new FakeClock();
  const fakes = recordingFactories();
  const offers = [];
  /** peer id → the mesh that is that peer */
  const meshes = new Map();
  const relay = (from) => (to, kind, data) => {
    if (kind === "offer") offers.push({ from, to });
    queueMicrotask(() => meshes.get(to)?.handleSignal({ sender: from, kind, data: structuredClone(data) }));
    return true;
  };
  const room = new ChatRoom("room1", {
    api: fakeApi({ participant: { id: ME.participant_id, name: ME.name, role: ME.role } }),
    store: memoryStore(),
    clock,
    transfersFactory: null,
    ...fakes.factories,
    meshFactory: (options) => {
      const mesh = new Mesh({
        ...options,
        clock,
        RTCPeerConnection: FakePeerConnection,
        sendSignal: relay(options.selfPeerId),
      });
      meshes.set(options.selfPeerId, mesh);
      return mesh;
    },
  });
  await room.start();
  for (const peer of others) {
    const mesh = new Mesh({
      selfPeerId: peer.peer_id,
      meshLimit: 8,
      clock,
      RTCPeerConnection: FakePeerConnection,
      sendSignal: relay(peer.peer_id),
    });
    meshes.set(peer.peer_id, mesh);
    mesh.setPeers([ME, ...others.filter((o) => o !== peer)]);
  }
  const signaling = fakes.signalings[0];
  signaling.join({ peerId: ME.peer_id, peers: others });
  const mine = () => room._links.mesh;
  await until(() => mine()?.openCount === others.length, "every link open");
  return { room, clock, signaling, meshes, mine, offers };
}

/** A chat message from a peer over its data channel. */
function chatFrom(peer, mesh, id, body) {
  mesh.send({
    t: "chat",
    id,
    sender: peer.participant_id,
    sender_name: peer.name,
    hlc: "0000000000001:0000:x",
    kind: "text",
    ref: null,
    body,
  });
}

test("a signaling reconnect with the same peer id keeps the live link: no new connection, no offer", async () => {
  const { room, clock, signaling, meshes, mine, offers } = await roomWithPeers([BOB]);
  const mesh = mine();
  const serial = mesh.linkSerial(BOB.peer_id);
  const made = FakePeerConnection.all.length;
  const offersBefore = offers.length;

  signaling.drop(); // the server restarts
  chatFrom(BOB, meshes.get(BOB.peer_id), "b1", "during the outage");
  await until(() => room.messages.some((m) => m.body === "during the outage"), "bob's message over the link");
  await until(() => room.statusText.includes("chatting directly with 1 person"), "the status to name bob");

  // I am back first: the welcome does not list bob yet (he is still reconnecting).
  signaling.join({ peerId: ME.peer_id, peers: [] });
  await settle();
  assert.equal(mine(), mesh, "the same mesh");
  assert.equal(mesh.isOpen(BOB.peer_id), true, "the link is kept while bob comes back");
  signaling.server({ type: "presence", event: "joined", peer: BOB }); // bob is back, same id
  chatFrom(BOB, meshes.get(BOB.peer_id), "b2", "after the restart");
  await until(() => room.messages.some((m) => m.body === "after the restart"), "bob's message after the restart");

  clock.advance(60_000); // long past the wait for peers to come back
  await settle();
  assert.equal(mesh.linkSerial(BOB.peer_id), serial, "the same RTCPeerConnection");
  assert.equal(FakePeerConnection.all.length, made, "no connection made");
  assert.equal(offers.length, offersBefore, "no offer: nothing renegotiated");
  assert.equal(mesh.openCount, 1);
});

test("a peer who left is dropped, one who does not come back is dropped after the wait", async () => {
  const { clock, signaling, mine } = await roomWithPeers([BOB, CAROL]);
  const mesh = mine();
  signaling.drop();
  signaling.join({ peerId: ME.peer_id, peers: [] });
  await settle();
  assert.equal(mesh.openCount, 2, "both kept for now");

  signaling.server({ type: "presence", event: "left", peer: BOB });
  assert.equal(mesh.isOpen(BOB.peer_id), false, "left: dropped at once");
  assert.equal(mesh.peers.has(BOB.peer_id), false);

  clock.advance(29_000);
  assert.equal(mesh.isOpen(CAROL.peer_id), true);
  clock.advance(2_000); // carol never came back on the server
  assert.equal(mesh.peers.has(CAROL.peer_id), false, "dropped after the wait");
  assert.equal(mesh.openCount, 0);
});

test("a kept link whose channel closes, or whose connection fails, is dropped at once, not restarted", async () => {
  const { clock, signaling, mine, offers } = await roomWithPeers([BOB, CAROL]);
  const mesh = mine();
  signaling.drop();
  signaling.join({ peerId: ME.peer_id, peers: [] });
  await settle();
  const offersBefore = offers.length;
  const made = FakePeerConnection.all.length;
  // bob's tab is gone: the channel closes (the browser's SCTP says so)
  const channel = mesh._links.get(BOB.peer_id).channel;
  channel.readyState = "closed";
  channel.onclose?.({});
  assert.equal(mesh.peers.has(BOB.peer_id), false, "bob dropped");
  // carol's network is gone: ICE fails
  mesh._links.get(CAROL.peer_id).pc.failIce();
  assert.equal(mesh.peers.has(CAROL.peer_id), false, "carol dropped");
  clock.advance(60_000);
  await settle();
  assert.equal(offers.length, offersBefore, "no attempt to reconnect to a peer who is gone");
  assert.equal(FakePeerConnection.all.length, made);
});

test("a new peer id on reconnect (the resume was refused) starts a new mesh", async () => {
  const { signaling, mine } = await roomWithPeers([BOB]);
  const mesh = mine();
  signaling.drop();
  signaling.join({ peerId: "p-me-2", peers: [BOB] });
  await settle();
  assert.notEqual(mine(), mesh);
  assert.equal(mesh.openCount, 0, "the old mesh is closed");
});

// The connect timeout is the operator's (welcome.mesh_connect_timeout, --mesh-connect-timeout):
// a direct link that has not opened by then shows the timeout and chat and files use the
// server. A welcome without it (an older server) leaves the mesh's own 15 s.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { ChatRoom } from "../../src/peerlane/web/chat.js";
import { Mesh, PROBLEMS } from "../../src/peerlane/web/mesh.js";
import { memoryStore } from "../../src/peerlane/web/store.js";
import { FakeClock, FakePeerConnection, fakeApi, recordingFactories, until } from "./fakes.mjs";

const ME = { peer_id: "p-me", participant_id: "me", name: "Me", role: "owner" };
const BOB = { peer_id: "p-bob", participant_id: "bob", name: "Bob", role: "member" };

beforeEach(() => {
  FakePeerConnection.all.length = 0;
});

/**
 * A ChatRoom with a real Mesh (over FakePeerConnection) welcomed with Bob in the room, whose
 * side never answers (every signal is lost), so the link to him can only time out.
 * @param {number | undefined} meshConnectTimeout  the welcome's, in seconds
 */
async function welcomedWithSilentBob(meshConnectTimeout) {
  const clock = new FakeClock();
  const fakes = recordingFactories();
  const room = new ChatRoom("room1", {
    api: fakeApi({ participant: { id: ME.participant_id, name: ME.name, role: ME.role } }),
    store: memoryStore(),
    clock,
    transfersFactory: null,
    ...fakes.factories,
    meshFactory: (options) =>
      new Mesh({ ...options, clock, RTCPeerConnection: FakePeerConnection, sendSignal: () => true }),
  });
  await room.start();
  fakes.signalings[0].join({ peerId: ME.peer_id, peers: [BOB], meshConnectTimeout });
  const bob = () => room._links.mesh?.peers.get(BOB.peer_id);
  await until(() => bob()?.path === "connecting", "the link to Bob started");
  return { clock, bob };
}

test("the welcome's mesh_connect_timeout: the link gives up after it, not after 15 s", async () => {
  const { clock, bob } = await welcomedWithSilentBob(4);
  clock.advance(3_999);
  assert.equal(bob()?.path, "connecting");
  clock.advance(1);
  assert.equal(bob()?.path, "server");
  assert.equal(bob()?.problem, PROBLEMS.timeout);
});

test("a welcome without mesh_connect_timeout (an older server): the mesh's own 15 s", async () => {
  const { clock, bob } = await welcomedWithSilentBob(undefined);
  clock.advance(14_999);
  assert.equal(bob()?.path, "connecting");
  clock.advance(1);
  assert.equal(bob()?.path, "server");
  assert.equal(bob()?.problem, PROBLEMS.timeout);
});

test("a resumed connection's welcome sets the timeout of links made from then on", async () => {
  const clock = new FakeClock();
  const mesh = new Mesh({
    selfPeerId: ME.peer_id,
    meshLimit: 8,
    clock,
    RTCPeerConnection: FakePeerConnection,
    sendSignal: () => true,
    connectTimeoutMs: 4_000,
  });
  mesh.resume({ peers: [BOB], connectTimeoutMs: 2_000 });
  assert.equal(mesh.peers.get(BOB.peer_id)?.path, "connecting");
  clock.advance(2_000);
  assert.equal(mesh.peers.get(BOB.peer_id)?.problem, PROBLEMS.timeout);
  mesh.close({ notify: false });
});

import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { Mesh } from "../../src/peerlane/web/mesh.js";
import { FakeClock, FakePeerConnection, until } from "./fakes.mjs";

const info = (id) => ({ peer_id: id, participant_id: `u-${id}`, name: `Name ${id}`, role: "member" });

/** Two connected meshes, signals through memory. */
async function connected() {
  const clock = new FakeClock();
  const meshes = new Map();
  for (const id of ["aaa", "bbb"]) {
    meshes.set(
      id,
      new Mesh({
        selfPeerId: id,
        meshLimit: 8,
        clock,
        RTCPeerConnection: FakePeerConnection,
        sendSignal: (to, kind, data) => {
          queueMicrotask(() => meshes.get(to)?.handleSignal({ sender: id, kind, data: structuredClone(data) }));
          return true;
        },
      }),
    );
  }
  for (const [id, mesh] of meshes) mesh.setPeers([info(id === "aaa" ? "bbb" : "aaa")]);
  await until(() => [...meshes.values()].every((m) => m.openCount === 1), "both links open");
  return { a: meshes.get("aaa"), b: meshes.get("bbb"), clock };
}

beforeEach(() => {
  FakePeerConnection.all.length = 0;
});

test("openDataChannel: a file:* channel on an open link reaches the peer as a datachannel event", async () => {
  const { a, b } = await connected();
  assert.ok(a.isOpen("bbb"));
  const seen = [];
  b.addEventListener("datachannel", (ev) => seen.push(ev.detail));
  const channel = a.openDataChannel("bbb", "file:t1");
  assert.ok(channel);
  assert.equal(channel.options.ordered, true);
  await until(() => seen.length > 0, "the datachannel event");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].peerId, "aaa");
  assert.equal(seen[0].channel.label, "file:t1");
  const got = [];
  seen[0].channel.addEventListener("message", (ev) => got.push(ev.data));
  channel.send("hello");
  await until(() => got.length > 0, "the message");
  assert.deepEqual(got, ["hello"]);
});

test("a file channel carries the peer's SDP max-message-size, also without RTCSctpTransport", async () => {
  const { a, b } = await connected();
  const seen = [];
  b.addEventListener("datachannel", (ev) => seen.push(ev.detail));
  // The connected pair: no pc.sctp (the fake has none, as some browsers), and each
  // side's SDP announces 64 KiB (as Safari's does): frames must fit 64 KiB, header included.
  for (const end of FakePeerConnection.all.filter((p) => p.partner)) {
    end.remoteDescription = {
      ...end.remoteDescription,
      sdp: `${end.remoteDescription.sdp}\r\na=max-message-size:65536\r\n`,
    };
  }
  a.openDataChannel("bbb", "file:t1");
  await until(() => seen.length > 0, "the datachannel event");
  assert.equal(seen[0].maxMessageSize, 65536);
});

test("openDataChannel refuses other labels and peers without an open link", async () => {
  const { a } = await connected();
  assert.equal(a.openDataChannel("bbb", "chat"), null);
  assert.equal(a.openDataChannel("nobody", "file:t1"), null);
});

test("a peer's channel with another label is closed, not handed on", async () => {
  const { a, b } = await connected();
  const seen = [];
  b.addEventListener("datachannel", (ev) => seen.push(ev.detail));
  const pc = FakePeerConnection.all.find((p) => p.partner && p.channels.length);
  const sneaky = pc.createDataChannel("evil", {});
  await until(
    () => pc.partner.channels.find((c) => c.label === "evil")?.readyState === "closed",
    "the peer to close it",
  );
  assert.equal(seen.length, 0);
  const remote = pc.partner.channels.find((c) => c.label === "evil");
  assert.equal(remote.readyState, "closed");
  assert.ok(sneaky);
  assert.ok(a);
});

test("closing the link closes its file channels with a close event", async () => {
  const { a } = await connected();
  const channel = a.openDataChannel("bbb", "file:t1");
  await until(() => channel.readyState === "open", "the channel to open");
  let closed = 0;
  channel.addEventListener("close", () => closed++);
  a.removePeer("bbb");
  assert.equal(closed, 1);
  assert.equal(channel.readyState, "closed");
});

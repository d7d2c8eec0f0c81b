import assert from "node:assert/strict";
import { test } from "node:test";

import { hashFile } from "../../src/peerlane/web/integrity.js";
import { memoryManifests, memoryStore } from "../../src/peerlane/web/opfs.js";
import { Transfers } from "../../src/peerlane/web/transfer.js";
import { FakeClock } from "./fakes.mjs";
import { FakeFileServer, FakeNet, patternFile } from "./transfer-fakes.mjs";

// The batched control messages of `peerlane send` / `peerlane receive`
// (web/transfer-batch.js; their agreement with the Python side:
// tests/unit/test_transfer_batch_agreement.py): the engine takes them as the per-file ones.

const BATCH = "5f".repeat(16);

async function engineOf(net, participant) {
  const files = new FakeFileServer();
  let ids = 0;
  const room = net.room(participant, participant);
  const engine = new Transfers(room, {
    manifests: memoryManifests(),
    partials: memoryStore(),
    clock: new FakeClock(),
    newId: () => `t${++ids}`,
    p2pTimeoutMs: 10_000,
    retryMs: 100,
    upload: files.upload,
    terminate: files.terminate,
    fetch: files.fetch,
    offerDownload: () => {},
  });
  await engine.start();
  return { room, engine };
}

async function until(done, ms = 5_000) {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((resolve) => setImmediate(resolve));
  return done();
}

test("one `offers` message is an incoming transfer per file; accepting one says accept for it", async () => {
  const net = new FakeNet();
  const cli = net.room("cli", "Terminal");
  const bob = await engineOf(net, "bob");
  const root = (await hashFile(patternFile(10))).root;
  net.relay(cli, {
    op: "offers",
    batch: BATCH,
    count: 3,
    first: 0,
    peer: "p-cli",
    to: null,
    files: [
      ["d/a.txt", 10, root, "text/plain"],
      ["d/b.bin", 10, root],
      ["d/c.bin", 10, root],
    ],
  });
  assert.ok(await until(() => bob.engine.list().length === 3), "three offers");
  const views = bob.engine.list().sort((a, b) => a.id.localeCompare(b.id));
  assert.deepEqual(
    views.map((v) => [v.id, v.name, v.size, v.state]),
    [0, 1, 2].map((i) => [`${BATCH}-${i}`, `d/${"abc"[i]}.${i ? "bin" : "txt"}`, 10, "offered"]),
  );
  await bob.engine.accept(`${BATCH}-1`);
  const accepts = net.opsOf("accept");
  assert.deepEqual(accepts[0].body, { op: "accept", have: 0, transfer: `${BATCH}-1` });
});

test("the sender takes `accepts` and `dones` for its own offers", async () => {
  const net = new FakeNet();
  const alice = await engineOf(net, "alice");
  const cli = net.room("cli", "Terminal");
  const [id] = alice.engine.send([patternFile(100)], "cli");
  assert.ok(await until(() => net.opsOf("offer").length === 1));
  assert.equal(net.opsOf("offer")[0].body.bulk, true, "it says so in its offers");
  net.relay(cli, { op: "accepts", transfers: [id, "t-unknown"] });
  assert.ok(await until(() => alice.engine.get(id).state === "sending"), alice.engine.get(id).state);
  net.relay(cli, { op: "dones", transfers: [id] });
  assert.ok(await until(() => alice.engine.get(id).state === "done"), alice.engine.get(id).state);
});

test("files picked together are offered as one batch (a terminal takes them all at once)", async () => {
  const net = new FakeNet();
  const alice = await engineOf(net, "alice");
  alice.engine.send([patternFile(100), patternFile(200), patternFile(300)], null);
  assert.ok(await until(() => net.opsOf("offer").length === 3));
  const offers = net.opsOf("offer").map((m) => m.body);
  const [batch] = offers.map((o) => o.batch);
  assert.match(batch, /^[0-9a-f]{32}$/);
  assert.deepEqual(
    offers.map((o) => [o.batch, o.count]),
    offers.map(() => [batch, 3]),
  );
  // One file alone is no batch: its offer says nothing of one.
  alice.engine.send([patternFile(400)], null);
  assert.ok(await until(() => net.opsOf("offer").length === 4));
  const single = net.opsOf("offer")[3].body;
  assert.equal("batch" in single || "count" in single, false);
});

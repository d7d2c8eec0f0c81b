// The transfer engine in an end-to-end encrypted room (transfer-e2e.js): the file key
// travels only in the offer (a sealed chat body), blocks go out sealed on the channel and
// to the server, the receiver opens each block on its own, and a room made before
// encryption is unchanged (tests/web/transfer.test.mjs).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { FileKey, openBlock, SEALED_BLOCK_SIZE, sealedSize } from "../../src/peerlane/web/e2e/file-crypto.js";
import { hashFile } from "../../src/peerlane/web/integrity.js";
import { offeredKey } from "../../src/peerlane/web/transfer-e2e.js";
import { decodeData } from "../../src/peerlane/web/transfer-wire.js";
import {
  acceptedOverServer,
  bytesOf,
  damageOnce,
  gate,
  MiB,
  offerAccepted,
  pair,
  pattern,
  patternFile,
  stateOf,
  until,
} from "./transfer-fakes.mjs";

/** Whether `haystack` holds the bytes of `needle` anywhere. */
function contains(haystack, needle) {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe("Transfers in an encrypted room", () => {
  test("the offer carries a file key; blocks travel sealed; no hash list on the channel", async () => {
    const { alice, bob, net } = await pair({ e2e: true });
    const size = 2 * MiB + 500;
    const file = patternFile(size, "secret.pdf");
    const [id] = alice.engine.send([file], "bob");
    assert.ok(await until(() => stateOf(bob, id) === "offered"));
    const offer = net.opsOf("offer")[0].body;
    assert.match(offer.key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(offer.root, (await hashFile(file)).root); // the offer is a sealed chat body
    await bob.engine.accept(id);
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)}`);
    assert.ok(await until(() => stateOf(alice, id) === "done"));
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));

    const [toBob, toAlice] = net.channels[0].ends;
    const frames = toAlice.sent.filter((d) => typeof d !== "string").map(decodeData);
    const text = [...toAlice.sent, ...toBob.sent].filter((d) => typeof d === "string").map((d) => JSON.parse(d));
    assert.deepEqual(
      text.filter((f) => f.t === "want"),
      [{ t: "want", from: 0, hashes: false }],
    );
    assert.equal(text.filter((f) => f.t === "hashes").length, 0, "plaintext block hashes never travel");
    // What went over the channel is the sealed blocks: each opens with the offer's key.
    const key = await FileKey.decode(offer.key);
    const wire = new Uint8Array(sealedSize(size));
    for (const f of frames) wire.set(f.bytes, f.block * SEALED_BLOCK_SIZE + f.offset);
    assert.equal(alice.engine.stats()[id].bytesSent, sealedSize(size));
    const last = await openBlock(key, 2, 3, wire.subarray(2 * SEALED_BLOCK_SIZE));
    assert.deepEqual(last, pattern(size).subarray(2 * MiB));
    assert.ok(!contains(wire.subarray(0, 4096), pattern(64)), "no plaintext run on the wire");
  });

  test("a tampered sealed block fails to open, is asked for again, and the file verifies", async () => {
    const ctx = await pair({ e2e: true });
    const { bob, net } = ctx;
    const id = await offerAccepted(ctx, patternFile(3 * MiB));
    await until(() => net.channels.length > 0);
    const damaged = damageOnce(net.channels[0].ends[1], 1);
    assert.ok(await until(() => stateOf(bob, id) === "done"));
    assert.ok(damaged());
    assert.equal(bob.engine.stats()[id].blocksBad, 1);
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(3 * MiB));
  });

  test("the receiver reloads: it resumes from its last checkpoint with the kept file key", async () => {
    const ctx = await pair({ e2e: true });
    const { bob, net, clock } = ctx;
    const size = 10 * MiB;
    const id = await offerAccepted(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= 4 * MiB));
    clock.advance(1_000);
    assert.ok(await until(() => bob.stores.manifests.records.get(id)?.have >= 4));
    bob.engine.close();
    net.channels[0].ends[0].close();
    const have = bob.stores.manifests.records.get(id).have;
    const reborn = ctx.side(bob.room, bob.stores);
    await reborn.engine.start();
    assert.ok(await until(() => net.opsOf("accept").length === 2));
    assert.equal(net.opsOf("accept").at(-1).body.have, have);
    assert.ok(await until(() => stateOf(reborn, id) === "done"), `bob: ${stateOf(reborn, id)}`);
    assert.deepEqual(await bytesOf(reborn.engine, id), pattern(size));
    const wants = net.channels
      .at(-1)
      .ends[0].sent.filter((d) => typeof d === "string")
      .map((d) => JSON.parse(d));
    assert.deepEqual(wants[0], { t: "want", from: have, hashes: false });
  });

  test("the server copy is the sealed blocks, with no name, type or root; Range resumes per sealed block", async () => {
    const ctx = await pair({ linked: false, e2e: true });
    const { bob, net, clock, files } = ctx;
    const size = 3 * MiB + 7;
    // The first answer breaks off inside the third sealed block.
    const stored = () => files.files.get("f1");
    files.scriptFirstAnswer([() => stored().subarray(0, 2 * SEALED_BLOCK_SIZE + 1000)], "reset");
    const id = await acceptedOverServer(ctx, patternFile(size, "x.bin"));
    for (let i = 0; i < 20 && stateOf(bob, id) !== "done"; i++) {
      clock.advance(1_000);
      await until(() => stateOf(bob, id) === "done", 200);
    }
    assert.equal(stateOf(bob, id), "done", `bob: ${JSON.stringify(bob.engine.get(id).error)}`);
    assert.deepEqual(files.uploads[0].metadata, { room: "room1", to: "bob" });
    assert.equal(stored().length, sealedSize(size));
    assert.ok(!contains(stored().subarray(0, 4096), pattern(64)));
    assert.deepEqual(
      files.requests.map((r) => r.range),
      ["bytes=0-", `bytes=${2 * SEALED_BLOCK_SIZE}-`],
    );
    // The plaintext root never reaches the server (a clear download sends it in If-Range).
    assert.deepEqual(
      files.requests.map((r) => r.ifRange),
      [null, null],
    );
    assert.equal(net.opsOf("uploaded").length, 1);
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
  });

  test("from the sealed server copy to a direct link mid-download: the channel goes on from the next sealed block", async () => {
    const ctx = await pair({ linked: false, e2e: true });
    const { alice, bob, net, files } = ctx;
    const size = 6 * MiB;
    // 2.5 sealed blocks; once released, one more; then nothing: only the move can finish.
    const stored = (from, to) => () => files.files.get("f1").subarray(from * SEALED_BLOCK_SIZE, to * SEALED_BLOCK_SIZE);
    const release = gate();
    files.scriptFirstAnswer([stored(0, 2.5), release.hold(stored(2.5, 3.5))], "hang");
    const id = await acceptedOverServer(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= 2 * MiB));
    net.link(alice.room, bob.room);
    release.open();
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)}`);
    assert.equal(bob.engine.get(id).path, "direct");
    const want = JSON.parse(net.channels[0].ends[0].sent.find((d) => typeof d === "string"));
    assert.deepEqual(want, { t: "want", from: 3, hashes: false });
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
  });

  test("a room made before encryption sends no key and the clear file", async () => {
    const { alice, bob, net } = await pair();
    const [id] = alice.engine.send([patternFile(1000)], "bob");
    assert.ok(await until(() => stateOf(bob, id) === "offered"));
    assert.equal("key" in net.opsOf("offer")[0].body, false);
    await bob.engine.accept(id);
    assert.ok(await until(() => stateOf(bob, id) === "done"));
    const frames = net.channels[0].ends[1].sent.filter((d) => typeof d !== "string").map(decodeData);
    assert.deepEqual(frames[0].bytes, pattern(1000));
  });

  test("an offer's key is taken only when it is 32 bytes in canonical base64url", () => {
    const good = `${"A".repeat(42)}E`;
    assert.equal(offeredKey(good), good);
    for (const bad of [`${"A".repeat(42)}B`, `${"A".repeat(43)}A`, "short", 42, null]) {
      assert.equal(offeredKey(bad), null, String(bad));
    }
  });
});

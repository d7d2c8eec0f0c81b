import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { hashFile } from "../../src/peerlane/web/integrity.js";
import { WINDOW_BLOCKS } from "../../src/peerlane/web/transfer-send.js";
import { decodeData } from "../../src/peerlane/web/transfer-wire.js";
import {
  acceptedOverServer,
  bytesOf,
  damageOnce,
  gate,
  MiB,
  offerAccepted,
  P2P_TIMEOUT,
  pair,
  pattern,
  patternFile,
  receiverStates,
  stateOf,
  turn,
  until,
} from "./transfer-fakes.mjs";

const STALL = 30_000; // the engine's default stallMs

/**
 * Let fake time pass, a fifth of the stall time per turn, until `done()`: a stall needs
 * time without progress, and bytes already on their way may still arrive meanwhile.
 */
async function timePassesUntil(clock, done, ms = 10_000) {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) {
    clock.advance(STALL / 5);
    await turn();
  }
  return done();
}

/** The next "change" event of an engine. */
const nextChange = (engine) => new Promise((resolve) => engine.addEventListener("change", resolve, { once: true }));

describe("Transfers: offer, accept, direct transfer", () => {
  test("alice sends bob a file; bob verifies every block and may save it only then", async () => {
    const { alice, bob, net, downloads } = await pair();
    const file = patternFile(2 * MiB + 500, "report.pdf");
    const [id] = alice.engine.send([file], "bob");
    assert.equal(stateOf(alice, id), "waiting");
    assert.ok(await until(() => stateOf(bob, id) === "offered"));
    const offer = net.opsOf("offer")[0].body;
    assert.deepEqual(
      { ...offer, peer: undefined },
      {
        op: "offer",
        transfer: id,
        name: "report.pdf",
        size: file.size,
        type: "application/octet-stream",
        root: (await hashFile(file)).root,
        blocks: 3,
        to: "bob",
        bulk: true,
        peer: undefined,
      },
    );
    const view = bob.engine.get(id);
    assert.equal(view.direction, "in");
    assert.equal(view.senderName, "Alice");
    await bob.engine.save(id);
    assert.equal(downloads.length, 0, "nothing to save before it is done");

    await bob.engine.accept(id);
    assert.deepEqual(net.opsOf("accept")[0].body, { op: "accept", have: 0, transfer: id });
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)}`);
    assert.ok(await until(() => stateOf(alice, id) === "done"), `alice: ${stateOf(alice, id)}`);
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(file.size));
    assert.equal(bob.engine.get(id).path, "direct");
    assert.equal(bob.engine.get(id).bytesDone, file.size);
    assert.equal(alice.engine.stats()[id].bytesSent, file.size);
    assert.equal(bob.engine.stats()[id].bytesReceived, file.size);
    assert.equal(net.opsOf("done").length, 1);
    assert.equal(net.channels[0].label, `file:${id}`);
    assert.equal(net.channels[0].from, "p-bob", "the receiver opens the channel");
    await bob.engine.save(id);
    assert.equal(downloads.length, 1);
    assert.equal(downloads[0].name, "report.pdf");
  });

  test("an offer to someone else is not shown; decline tells the sender", async () => {
    const { alice, bob, carol, net } = await pair({ people: ["alice", "bob", "carol"] });
    const [id] = alice.engine.send([patternFile(100)], "carol");
    assert.ok(await until(() => stateOf(carol, id) === "offered"));
    assert.equal(bob.engine.get(id), undefined);
    carol.engine.decline(id);
    assert.equal(stateOf(carol, id), "declined");
    assert.ok(await until(() => stateOf(alice, id) === "declined"));
    assert.equal(net.opsOf("decline").length, 1);
  });

  test("sending to everyone: one channel per accepting receiver", async () => {
    const { alice, bob, carol, net } = await pair({ people: ["alice", "bob", "carol"] });
    const file = patternFile(MiB + 3);
    const [id] = alice.engine.send([file], null);
    assert.ok(await until(() => stateOf(bob, id) === "offered" && stateOf(carol, id) === "offered"));
    await bob.engine.accept(id);
    await carol.engine.accept(id);
    assert.ok(await until(() => stateOf(bob, id) === "done" && stateOf(carol, id) === "done"));
    assert.ok(await until(() => stateOf(alice, id) === "done"));
    assert.equal(net.channels.length, 2);
    assert.deepEqual(receiverStates(alice, id), [
      ["bob", "done"],
      ["carol", "done"],
    ]);
    assert.equal(alice.engine.stats()[id].bytesSent, 2 * file.size);
  });

  test("an offer to everyone that is done still serves a late receiver", async () => {
    const { alice, bob, carol } = await pair({ people: ["alice", "bob", "carol"] });
    const [id] = alice.engine.send([patternFile(MiB)], null);
    assert.ok(await until(() => stateOf(bob, id) === "offered" && stateOf(carol, id) === "offered"));
    await bob.engine.accept(id);
    assert.ok(await until(() => stateOf(alice, id) === "done"));
    await carol.engine.accept(id);
    assert.ok(await until(() => stateOf(carol, id) === "done"), `carol: ${stateOf(carol, id)}`);
    assert.ok(await until(() => stateOf(alice, id) === "done"));
    assert.deepEqual(await bytesOf(carol.engine, id), pattern(MiB));
  });

  test("cancel by the sender stops the receiver and drops its partial file", async () => {
    const ctx = await pair();
    const { alice, bob, net } = ctx;
    const id = await offerAccepted(ctx, patternFile(4 * MiB));
    alice.engine.cancel(id);
    assert.equal(stateOf(alice, id), "cancelled");
    assert.ok(await until(() => stateOf(bob, id) === "cancelled"));
    assert.equal(bob.stores.partials.data.has(id), false);
    assert.equal(net.opsOf("cancel").length, 1);
    assert.equal(await bob.engine.getFile(id), null);
  });

  test("a damaged block is asked for again (bad) and the transfer still verifies", async () => {
    const ctx = await pair();
    const { alice, bob, net } = ctx;
    const id = await offerAccepted(ctx, patternFile(3 * MiB));
    await until(() => net.channels.length > 0);
    const damaged = damageOnce(net.channels[0].ends[1], 2);
    assert.ok(await until(() => stateOf(bob, id) === "done"));
    assert.ok(damaged());
    assert.equal(bob.engine.stats()[id].blocksBad, 1);
    assert.equal(alice.engine.stats()[id].bytesSent, 4 * MiB);
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(3 * MiB));
  });

  test("an empty file is done at accept", async () => {
    const { alice, bob } = await pair();
    const [id] = alice.engine.send([new File([], "empty.txt")], "bob");
    assert.ok(await until(() => stateOf(bob, id) === "offered"));
    await bob.engine.accept(id);
    assert.ok(await until(() => stateOf(bob, id) === "done" && stateOf(alice, id) === "done"));
    assert.equal((await bob.engine.getFile(id)).size, 0);
  });

  test("folder files keep their relative path as a display name, never '..'", async () => {
    const { alice, bob } = await pair();
    const file = patternFile(10, "a.jpg");
    Object.defineProperty(file, "webkitRelativePath", { value: "photos/../2024/a.jpg" });
    const [id] = alice.engine.send([file], "bob");
    assert.ok(await until(() => stateOf(bob, id) === "offered"));
    assert.equal(bob.engine.get(id).name, "photos/2024/a.jpg");
  });
});

describe("Transfers: the path shown", () => {
  test("follows the link when its bytes move from a direct pair to TURN mid-transfer", async () => {
    const ctx = await pair();
    const { alice, bob } = ctx;
    const size = 20 * MiB;
    const id = await offerAccepted(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= 2 * MiB));
    assert.equal(bob.engine.get(id).path, "direct");
    assert.equal(alice.engine.get(id).path, "direct");
    // ICE restarted onto a relay pair: the same channel goes on, through TURN now.
    alice.room._path("p-bob", "turn");
    bob.room._path("p-alice", "turn");
    assert.equal(bob.engine.get(id).path, "turn");
    assert.equal(alice.engine.get(id).path, "turn");
    assert.equal(bob.engine.stats()[id].path, "turn");
    assert.ok(bob.engine.get(id).bytesDone < size, "moved while the bytes still flowed");
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)}`);
    // Done: the row keeps the path it ended on, whatever the link does later.
    bob.room._path("p-alice", "direct");
    assert.equal(bob.engine.get(id).path, "turn");
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
  });
});

describe("Transfers: resume", () => {
  test("a dropped channel resumes from the first unverified block (≤ 1.1 × the size on the wire)", async () => {
    const ctx = await pair();
    const { alice, bob, net, clock } = ctx;
    const size = 20 * MiB;
    const id = await offerAccepted(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= 8 * MiB));
    net.channels[0].ends[0].close();
    assert.ok(await until(() => stateOf(bob, id) === "waiting"));
    assert.deepEqual(bob.engine.get(id).note, { code: "reconnecting" });
    clock.advance(100); // the receiver tries again on its open link
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)}`);
    assert.equal(net.channels.length, 2, "a second channel");
    const sent = alice.engine.stats()[id].bytesSent;
    assert.ok(sent <= 1.1 * size, `sent ${sent / MiB} MiB for ${size / MiB}`);
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
  });

  test("the receiver reloads: its manifest and partial file resume with accept {have}", async () => {
    const ctx = await pair();
    const { alice, bob, net, clock } = ctx;
    const size = 12 * MiB;
    const id = await offerAccepted(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= 5 * MiB));
    clock.advance(1_000); // a checkpoint is due on the next verified block
    assert.ok(await until(() => bob.stores.manifests.records.get(id)?.have >= 5));
    // The page goes away: the engine stops, the channel closes; storage stays.
    bob.engine.close();
    net.channels[0].ends[0].close();
    const have = bob.stores.manifests.records.get(id).have;
    const reborn = ctx.side(bob.room, bob.stores);
    await reborn.engine.start();
    assert.equal(stateOf(reborn, id), "waiting");
    assert.ok(await until(() => net.opsOf("accept").length === 2));
    const accept = net.opsOf("accept").at(-1).body;
    assert.equal(accept.have, have);
    assert.ok(await until(() => stateOf(reborn, id) === "done"), `bob: ${stateOf(reborn, id)}`);
    assert.deepEqual(await bytesOf(reborn.engine, id), pattern(size));
    const sent = alice.engine.stats()[id].bytesSent;
    assert.ok(sent <= 1.1 * size + 8 * MiB, `sent ${sent / MiB} MiB`); // at most the blocks in flight at the reload
  });

  test("the receiver checkpoints at most once a second (and after a pause); a reload resumes from the last checkpoint", async () => {
    const ctx = await pair();
    const { alice, bob, net, clock } = ctx;
    const size = 12 * MiB;
    const [id] = alice.engine.send([patternFile(size)], "bob");
    assert.ok(await until(() => stateOf(bob, id) === "offered"));
    // What bob records: his checkpoints (the record with a `have`), and OPFS flushes.
    const put = bob.stores.manifests.put;
    const checkpoints = [];
    bob.stores.manifests.put = async (record) => {
      if (record.id === id && record.have > 0) checkpoints.push(record.have);
      return put(record);
    };
    let flushes = 0;
    const open = bob.stores.partials.open;
    bob.stores.partials.open = async (...args) => {
      const writer = await open(...args);
      const flush = writer.flush;
      writer.flush = async () => {
        flushes += 1;
        return flush();
      };
      return writer;
    };
    // Blocks from `upTo` on do not get through: the transfer pauses there.
    let upTo = 6;
    await bob.engine.accept(id);
    await until(() => net.channels.length > 0);
    net.channels[0].ends[1].tamper = (data) =>
      typeof data === "string" || decodeData(data).block < upTo ? data : null;
    const verified = () => bob.engine.stats()[id].blocksVerified;
    assert.ok(await until(() => verified() === 6 && checkpoints.length > 0));
    // Later checkpoints wait for the fake clock: none can start before it moves.
    assert.deepEqual(checkpoints, [1], "the first block at once, then nothing within the second");
    assert.equal(flushes, 1);
    clock.advance(999);
    assert.equal(flushes, 1, "no checkpoint started (a checkpoint flushes first, at once)");
    assert.deepEqual(checkpoints, [1]);
    clock.advance(1); // a second after the last one: the blocks before the pause are recorded
    assert.ok(await until(() => checkpoints.length === 2));
    assert.deepEqual(checkpoints, [1, 6]);
    assert.equal(flushes, 2);
    assert.equal(bob.stores.manifests.records.get(id).have, 6);

    // Three more blocks, not yet recorded when the page goes away (a crash: storage
    // stays as it is from now on).
    upTo = 9;
    net.channels[0].ends[1].tamper = (data) =>
      typeof data === "string" || decodeData(data).block < upTo ? data : null;
    clock.advance(0);
    net.channels[0].ends[0].send(JSON.stringify({ t: "want", from: 6, hashes: false })); // the sender resends from 6
    assert.ok(await until(() => verified() === 9), `verified ${verified()}`);
    const lost = [];
    bob.stores.manifests.put = async (record) => void lost.push(record);
    bob.engine.close();
    // The channel's close still makes a checkpoint of the 9 blocks: lost with the page.
    assert.ok(await until(() => lost.some((r) => r.id === id && r.have === 9)));
    bob.stores.manifests.put = put;
    assert.equal(bob.stores.manifests.records.get(id).have, 6);
    const reborn = ctx.side(bob.room, bob.stores);
    await reborn.engine.start();
    assert.ok(await until(() => net.opsOf("accept").length === 2));
    assert.equal(net.opsOf("accept").at(-1).body.have, 6, "from the last checkpoint");
    assert.ok(await until(() => stateOf(reborn, id) === "done"), `bob: ${stateOf(reborn, id)}`);
    assert.deepEqual(await bytesOf(reborn.engine, id), pattern(size));
  });

  test("the sender reloads: needs-file until the same file is picked again", async () => {
    const ctx = await pair();
    const { alice, bob, net } = ctx;
    const size = 6 * MiB;
    const [id] = alice.engine.send([patternFile(size)], "bob");
    assert.ok(await until(() => stateOf(bob, id) === "offered"));
    alice.engine.close(); // reload before bob accepts
    const reborn = ctx.side(alice.room, alice.stores);
    await reborn.engine.start();
    assert.equal(stateOf(reborn, id), "needs-file");
    await bob.engine.accept(id);
    assert.ok(await until(() => reborn.engine.get(id).receivers.length === 1));
    await until(() => net.channels.length > 0);
    await until(() => bob.engine.get(id).note?.code === "waiting-pick");
    assert.deepEqual(bob.engine.get(id).note, { code: "waiting-pick", name: "Alice" });
    ctx.clock.advance(2 * STALL); // waiting for a person to pick the file is no stall (checked in these timers)
    assert.equal(stateOf(bob, id), "waiting");
    await assert.rejects(reborn.engine.pickAgain(id, patternFile(size, "other.bin", 1)), { code: "not-same-file" });
    assert.deepEqual(reborn.engine.get(id).error, { code: "not-same-file" });
    assert.equal(stateOf(reborn, id), "needs-file");
    await reborn.engine.pickAgain(id, patternFile(size));
    assert.equal(reborn.engine.get(id).error, null);
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)} ${bob.engine.get(id).note}`);
    assert.ok(await until(() => stateOf(reborn, id) === "done"));
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
  });
});

describe("Transfers: the server fallback", () => {
  test("no direct channel within p2p_timeout: tus upload, uploaded, Range download", async () => {
    const ctx = await pair({ linked: false });
    const { alice, bob, net, clock, files } = ctx;
    const size = 3 * MiB + 7;
    const id = await offerAccepted(ctx, patternFile(size, "x.bin"));
    await until(() => alice.engine.get(id).receivers.length === 1);
    assert.equal(files.uploads.length, 0, "not before the timeout"); // the fallback timer waits for the fake clock
    clock.advance(P2P_TIMEOUT);
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)} ${bob.engine.get(id).error}`);
    assert.ok(await until(() => stateOf(alice, id) === "done"));
    assert.equal(files.uploads.length, 1);
    assert.deepEqual(files.uploads[0].metadata, {
      room: "room1",
      name: "x.bin",
      type: "application/octet-stream",
      root: bob.engine.get(id).root,
      to: "bob",
    });
    assert.deepEqual(net.opsOf("uploaded")[0].body, { op: "uploaded", file_id: "f1", transfer: id });
    assert.equal(files.requests[0].range, "bytes=0-");
    assert.equal(bob.engine.get(id).path, "server");
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
  });

  test("a broken download resumes with Range from the first unverified block", async () => {
    const ctx = await pair({ linked: false });
    const { bob, clock, files } = ctx;
    const size = 5 * MiB;
    // The first answer breaks off after 2.5 MiB.
    files.scriptFirstAnswer([pattern(size).subarray(0, 2.5 * MiB)], "reset");
    const id = await acceptedOverServer(ctx, patternFile(size));
    assert.ok(await until(() => files.requests.length >= 1 && bob.engine.get(id).bytesDone >= 2 * MiB));
    for (let i = 0; i < 20 && stateOf(bob, id) !== "done"; i++) {
      clock.advance(1_000);
      await until(() => stateOf(bob, id) === "done", 200);
    }
    assert.equal(stateOf(bob, id), "done");
    assert.deepEqual(
      files.requests.map((r) => r.range),
      ["bytes=0-", `bytes=${2 * MiB}-`],
    );
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
  });

  test("a direct channel that breaks and does not come back falls back to the server", async () => {
    const ctx = await pair();
    const { alice, bob, net, clock, files } = ctx;
    const size = 16 * MiB;
    const id = await offerAccepted(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= 3 * MiB));
    net.unlink(alice.room, bob.room); // the link goes, and stays gone
    assert.ok(await until(() => stateOf(bob, id) === "waiting"));
    clock.advance(P2P_TIMEOUT);
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)}`);
    assert.equal(files.uploads.length, 1);
    assert.match(files.requests[0].range, /^bytes=[1-9]\d*-$/, "the download starts past the verified blocks");
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
  });

  test("finding 11: after one receiver finished directly, a later one without a channel gets the server copy", async () => {
    const { alice, bob, carol, net, clock, files } = await pair({ linked: false, people: ["alice", "bob", "carol"] });
    net.link(alice.room, bob.room); // carol has no direct link to alice (and gets none)
    const size = 2 * MiB + 11;
    const [id] = alice.engine.send([patternFile(size)], null);
    assert.ok(await until(() => stateOf(bob, id) === "offered" && stateOf(carol, id) === "offered"));
    await bob.engine.accept(id);
    assert.ok(await until(() => stateOf(bob, id) === "done" && stateOf(alice, id) === "done"));
    assert.equal(files.uploads.length, 0, "bob's copy went directly");

    await carol.engine.accept(id);
    assert.ok(await until(() => alice.engine.get(id).receivers.some((r) => r.participant === "carol")));
    clock.advance(P2P_TIMEOUT);
    assert.ok(await until(() => files.uploads.length === 1), "the sender starts the server path for carol");
    assert.ok(
      await until(() => stateOf(carol, id) === "done"),
      `carol: ${stateOf(carol, id)} ${carol.engine.get(id).note}`,
    );
    assert.equal(carol.engine.get(id).path, "server");
    assert.deepEqual(await bytesOf(carol.engine, id), pattern(size));
    assert.ok(await until(() => stateOf(alice, id) === "done"));
    assert.deepEqual(receiverStates(alice, id), [
      ["bob", "done"],
      ["carol", "done"],
    ]);
  });

  test("a late accept after the sender reloaded (offer done, no server copy) asks for the file again", async () => {
    const { alice, bob, carol, net, side, files, clock } = await pair({
      linked: false,
      people: ["alice", "bob", "carol"],
    });
    net.link(alice.room, bob.room);
    const [id] = alice.engine.send([patternFile(MiB + 5)], null);
    assert.ok(await until(() => stateOf(bob, id) === "offered" && stateOf(carol, id) === "offered"));
    await bob.engine.accept(id);
    assert.ok(await until(() => stateOf(alice, id) === "done"));
    alice.engine.close();
    const reborn = side(alice.room, alice.stores); // the sender's page reloads: its File is gone
    await reborn.engine.start();
    assert.equal(stateOf(reborn, id), "done");

    await carol.engine.accept(id);
    assert.ok(await until(() => stateOf(reborn, id) === "needs-file"), `alice: ${stateOf(reborn, id)}`);
    await reborn.engine.pickAgain(id, patternFile(MiB + 5));
    assert.ok(await until(() => stateOf(reborn, id) === "sending"));
    clock.advance(P2P_TIMEOUT);
    assert.ok(await until(() => files.uploads.length === 1), "carol has no channel: the server path");
    assert.ok(await until(() => stateOf(carol, id) === "done"), `carol: ${stateOf(carol, id)}`);
  });

  test("no direct link is even wanted (mesh limit): the upload starts at once", async () => {
    const ctx = await pair({ linked: false });
    const { alice, bob, files, clock } = ctx;
    for (const view of alice.room.peers.values()) view.direct = false;
    const id = await offerAccepted(ctx, patternFile(1000));
    await until(() => alice.engine.get(id).receivers.length === 1);
    clock.advance(0);
    assert.ok(await until(() => files.uploads.length === 1));
    assert.ok(await until(() => stateOf(bob, id) === "done"));
  });
});

describe("Transfers: views and events", () => {
  test("list() is newest first; change events are coalesced", async () => {
    const { alice, clock } = await pair();
    let changes = 0;
    alice.engine.addEventListener("change", () => changes++);
    clock.advance(1_000);
    const first = nextChange(alice.engine);
    const ids = alice.engine.send([patternFile(10, "a"), patternFile(10, "b")], null);
    await first;
    assert.equal(changes, 1, "one event for the burst");
    // Hashing finishes on its own time; while the interval has not passed, its
    // changes are held back and folded into one.
    assert.ok(await until(() => alice.engine.list().every((v) => v.root)));
    assert.equal(changes, 1, "nothing more inside the interval (it ends on the fake clock)");
    const second = nextChange(alice.engine);
    clock.advance(1_000);
    await second;
    assert.equal(changes, 2, "then at most one per interval");
    assert.deepEqual(
      alice.engine
        .list()
        .map((v) => v.name)
        .sort(),
      ["a", "b"],
    );
    const view = alice.engine.get(ids[0]);
    for (const key of [
      "id",
      "direction",
      "state",
      "path",
      "name",
      "size",
      "type",
      "sender",
      "to",
      "root",
      "bytesDone",
      "speedBps",
      "etaSeconds",
      "error",
    ]) {
      assert.ok(key in view, key);
    }
    assert.deepEqual(view.note, { code: "waiting-accept", name: null });
  });

  test("dismiss forgets a finished transfer, and the offer in history does not bring it back", async () => {
    const { alice, bob, net } = await pair();
    const [id] = alice.engine.send([patternFile(10)], "bob");
    assert.ok(await until(() => stateOf(bob, id) === "offered"));
    bob.engine.decline(id);
    bob.engine.dismiss(id);
    assert.equal(bob.engine.get(id), undefined);
    const offer = net.opsOf("offer")[0];
    bob.room.dispatchEvent(
      new CustomEvent("file", { detail: { sender: "alice", sender_name: "Alice", body: offer.body } }),
    );
    assert.equal(bob.engine.get(id), undefined);
  });

  test("messages from someone who is not the sender cannot cancel or redirect a transfer", async () => {
    const { alice, bob, carol } = await pair({ people: ["alice", "bob", "carol"] });
    const [id] = alice.engine.send([patternFile(10)], "bob");
    assert.ok(await until(() => stateOf(bob, id) === "offered"));
    bob.room.dispatchEvent(
      new CustomEvent("file", {
        detail: { sender: "carol", sender_name: "Carol", body: { op: "cancel", transfer: id } },
      }),
    );
    bob.room.dispatchEvent(
      new CustomEvent("file", {
        detail: { sender: "carol", sender_name: "Carol", body: { op: "uploaded", transfer: id, file_id: "evil" } },
      }),
    );
    assert.equal(stateOf(bob, id), "offered");
    // carol accepting an offer addressed to bob is ignored by alice
    alice.room.dispatchEvent(
      new CustomEvent("file", {
        detail: { sender: "carol", sender_name: "Carol", body: { op: "accept", transfer: id, have: 0 } },
      }),
    );
    assert.equal(alice.engine.get(id).receivers.length, 0);
    assert.equal(carol.engine.get(id), undefined);
  });
});

describe("Transfers: from the server path to a direct link (issue #11)", () => {
  test("a direct link opening mid-download: the rest comes over the channel from the first missing block", async () => {
    const ctx = await pair({ linked: false });
    const { alice, bob, net, files } = ctx;
    const size = 6 * MiB + 5;
    // The server sends 2.5 MiB; once released 1 MiB more (the rest of block 2 and half of
    // block 3), then nothing: only the move can finish the file.
    const bytes = pattern(size);
    const release = gate();
    files.scriptFirstAnswer([bytes.subarray(0, 2.5 * MiB), release.hold(bytes.subarray(2.5 * MiB, 3.5 * MiB))], "hang");
    const id = await acceptedOverServer(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= 2 * MiB));
    assert.equal(bob.engine.get(id).path, "server");
    net.link(alice.room, bob.room); // the mesh's background try found the direct path
    release.open(); // block 2 completes: the boundary where the channel takes over
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)}`);
    assert.equal(bob.engine.get(id).path, "direct");
    assert.equal(files.requests.length, 1, "no second download");
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
    const received = bob.engine.stats()[id].bytesReceived;
    // Blocks 0-2 from the server, 3- over the channel: only the half block 3 cut off twice.
    assert.ok(received <= size + 0.5 * MiB, `received ${received} bytes for ${size}`);
    assert.ok(await until(() => stateOf(alice, id) === "done"));
  });

  test("a direct link opening mid-download to a sender tab without the file: the download goes on", async () => {
    const ctx = await pair({ linked: false });
    const { alice, bob, net, files } = ctx;
    const size = 3 * MiB;
    // 1.5 MiB, then the rest only once released (after the link opened and was refused).
    const bytes = pattern(size);
    const release = gate();
    files.scriptFirstAnswer([bytes.subarray(0, 1.5 * MiB), release.hold(bytes.subarray(1.5 * MiB))], "close");
    const id = await acceptedOverServer(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= MiB));
    alice.engine._liveOf(id).file = null; // as after a reload of alice's page
    net.link(alice.room, bob.room);
    release.open();
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)}`);
    assert.equal(bob.engine.get(id).path, "server");
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
  });
});

describe("Transfers: the stall watchdog", () => {
  test("a receiver whose accept was lost shows stalled after 30 s; Retry accepts again and the server carries it", async () => {
    const { alice, bob, net, clock, files } = await pair({ linked: false });
    const size = MiB + 9;
    const [id] = alice.engine.send([patternFile(size)], "bob");
    assert.ok(await until(() => stateOf(bob, id) === "offered"));
    const send = bob.room.sendFileMessage.bind(bob.room);
    let lost = 0;
    bob.room.sendFileMessage = (body) => (body.op === "accept" && lost++ === 0 ? { body } : send(body));
    await bob.engine.accept(id);
    assert.equal(bob.engine.retry(id), false, "nothing to retry while not stalled");
    // The watchdog runs in the fake clock's timers: its verdict is there once advance() returns.
    clock.advance(STALL - 1);
    assert.equal(stateOf(bob, id), "waiting");
    clock.advance(1 + STALL / 5);
    assert.equal(stateOf(bob, id), "stalled");
    assert.deepEqual(bob.engine.get(id).note, { code: "stalled", seconds: 30 });
    assert.equal(stateOf(alice, id), "waiting", "waiting for an accept is not a stall");
    assert.equal(files.uploads.length, 0);

    assert.equal(bob.engine.retry(id), true);
    assert.equal(stateOf(bob, id), "waiting");
    assert.ok(await until(() => net.opsOf("accept").length === 1), "the accept goes out again");
    assert.ok(await until(() => alice.engine.get(id).receivers.length === 1));
    clock.advance(P2P_TIMEOUT);
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)}`);
    assert.equal(bob.engine.get(id).path, "server");
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
    assert.ok(await until(() => stateOf(alice, id) === "done"));
  });

  test("a frozen direct channel: both ends stall; the sender's Retry puts the file on the server and the receiver switches to it", async () => {
    const ctx = await pair();
    const { alice, bob, net, clock, files } = ctx;
    const size = 12 * MiB;
    const id = await offerAccepted(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= 2 * MiB));
    const [fromReceiver, toReceiver] = net.channels[0].ends;
    toReceiver.tamper = () => null; // the link stays up, nothing arrives any more
    // Both ends run out of work: bob took in every frame that got through and confirmed
    // every whole block; alice has those confirmations and a full window out (dropped).
    const quiet = () => {
      const verified = bob.engine.stats()[id].blocksVerified;
      return (
        toReceiver.bufferedAmount === 0 &&
        fromReceiver.bufferedAmount === 0 &&
        bob.engine.stats()[id].bytesReceived === toReceiver.deliveredBytes &&
        verified === Math.floor(toReceiver.deliveredBytes / MiB) &&
        toReceiver.binaryBytes === Math.min(size, (verified + WINDOW_BLOCKS) * MiB)
      );
    };
    assert.ok(await until(quiet), "both ends idle");
    assert.ok(await timePassesUntil(clock, () => stateOf(bob, id) === "stalled" && stateOf(alice, id) === "stalled"));
    assert.ok(bob.engine.get(id).bytesDone < size);
    assert.equal(files.uploads.length, 0, "the sender's fallback timer stopped when the channel came");

    // The download waits until a peers change came after the frozen link's 30 s of
    // disfavour: that link (still "direct"), which the server copy was chosen over, is no
    // reason to leave the download.
    const release = gate();
    const from = () => Number(/bytes=(\d+)-/.exec(files.requests[0].range)[1]);
    files.scriptFirstAnswer([release.hold(() => pattern(size).subarray(from()))], "close");
    assert.equal(alice.engine.retry(id), true);
    assert.ok(await until(() => files.uploads.length === 1 && files.requests.length === 1));
    clock.advance(STALL + 1_000);
    bob.room._path(alice.room.me.peer_id, "direct");
    await turn();
    release.open();
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)} ${bob.engine.get(id).note}`);
    assert.equal(bob.engine.get(id).path, "server");
    assert.match(files.requests[0].range, /^bytes=[1-9]\d*-$/, "the download starts past the verified blocks");
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
    assert.ok(await until(() => stateOf(alice, id) === "done"), `alice: ${stateOf(alice, id)}`);
  });

  test("a frozen direct channel: the receiver's Retry alone has the sender put the file on the server", async () => {
    const ctx = await pair();
    const { bob, net, clock, files } = ctx;
    const size = 12 * MiB;
    const id = await offerAccepted(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= 2 * MiB));
    const [fromReceiver, toReceiver] = net.channels[0].ends;
    // The link is dead both ways: not even the receiver's close of the channel arrives,
    // so the sender still holds its session when the accept comes again.
    toReceiver.tamper = () => null;
    fromReceiver.tamper = () => null;
    fromReceiver._closeNow = function () {
      this.readyState = "closed";
      this.dispatchEvent(new Event("close"));
    };
    assert.ok(await timePassesUntil(clock, () => stateOf(bob, id) === "stalled"));
    const verified = bob.engine.get(id).bytesDone;

    assert.equal(bob.engine.retry(id), true);
    assert.ok(await until(() => net.opsOf("accept").length === 2), "the accept goes out again");
    assert.ok(
      await timePassesUntil(clock, () => files.uploads.length === 1),
      "the sender's fallback puts it on the server",
    );
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)} ${bob.engine.get(id).note}`);
    assert.equal(bob.engine.get(id).path, "server");
    const from = Number(/^bytes=(\d+)-$/.exec(files.requests[0].range)?.[1]);
    assert.ok(from >= verified, `the download starts past the verified blocks: ${files.requests[0].range}`);
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
  });

  test("a download that hangs: the receiver stalls; Retry asks again from the first unverified block", async () => {
    const ctx = await pair({ linked: false });
    const { alice, bob, clock, files } = ctx;
    const size = 5 * MiB;
    // The first answer sends 2.5 MiB, then nothing more, and never ends.
    files.scriptFirstAnswer([pattern(size).subarray(0, 2.5 * MiB)], "hang");
    const id = await acceptedOverServer(ctx, patternFile(size));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= 2 * MiB));
    assert.equal(stateOf(alice, id), "sending");
    clock.advance(STALL + STALL / 5); // the hung download moves no bytes: the verdict is in the clock's timers
    assert.equal(stateOf(bob, id), "stalled");
    assert.notEqual(stateOf(alice, id), "stalled", "the server has the whole copy: the sender has nothing to do");

    assert.equal(bob.engine.retry(id), true);
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)} ${bob.engine.get(id).note}`);
    assert.deepEqual(
      files.requests.map((r) => r.range),
      ["bytes=0-", `bytes=${2 * MiB}-`],
    );
    assert.deepEqual(await bytesOf(bob.engine, id), pattern(size));
    assert.ok(await until(() => stateOf(alice, id) === "done"));
  });

  test("bytes moving again clear the stall by themselves; a finished transfer never stalls", async () => {
    const ctx = await pair();
    const { alice, bob, net, clock } = ctx;
    const id = await offerAccepted(ctx, patternFile(6 * MiB));
    assert.ok(await until(() => bob.engine.get(id).bytesDone >= MiB));
    const toReceiver = net.channels[0].ends[1];
    const held = [];
    toReceiver.tamper = (data) => {
      held.push(data);
      return null;
    };
    assert.ok(await timePassesUntil(clock, () => stateOf(bob, id) === "stalled"));
    toReceiver.tamper = null;
    for (const data of held.splice(0)) toReceiver.peer.dispatchEvent(new MessageEvent("message", { data }));
    assert.ok(await until(() => stateOf(bob, id) === "done"), `bob: ${stateOf(bob, id)}`);
    assert.ok(await until(() => stateOf(alice, id) === "done"));
    clock.advance(3 * STALL);
    assert.equal(stateOf(bob, id), "done");
    assert.equal(stateOf(alice, id), "done");
  });
});

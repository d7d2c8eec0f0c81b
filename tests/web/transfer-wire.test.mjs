import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { hashFile, rootOf } from "../../src/peerlane/web/integrity.js";
import { memoryStore } from "../../src/peerlane/web/opfs.js";
import { BlockReceiver } from "../../src/peerlane/web/transfer-receive.js";
import {
  FileAhead,
  FileStream,
  READ_BLOCKS,
  SendSession,
  WINDOW_BLOCKS,
} from "../../src/peerlane/web/transfer-send.js";
import {
  ChannelSender,
  decodeControl,
  decodeData,
  encodeControl,
  encodeData,
  labelOf,
  splitHashes,
  transferOfLabel,
} from "../../src/peerlane/web/transfer-wire.js";
import { channelPair, damageOnce, MiB, pattern, patternFile } from "./transfer-fakes.mjs";

/** Let in-memory channels run until `done()`, for at most `ms` (a turn: one setImmediate). */
async function until(done, ms = 10_000) {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((resolve) => setImmediate(resolve));
  return done();
}

/** The sender waits for room in its window (WINDOW_BLOCKS unconfirmed): it sends nothing more until an ok. */
const parked = (session) => session._wake !== null && session.inFlight.size === WINDOW_BLOCKS;

describe("framing", () => {
  test("a data frame is [u32 block][u32 offset][payload], big-endian", () => {
    const buffer = encodeData(0x01020304, 65536, new Uint8Array([9, 8, 7]));
    assert.deepEqual([...new Uint8Array(buffer)], [1, 2, 3, 4, 0, 1, 0, 0, 9, 8, 7]);
    const frame = decodeData(buffer);
    assert.equal(frame.block, 0x01020304);
    assert.equal(frame.offset, 65536);
    assert.deepEqual([...frame.bytes], [9, 8, 7]);
  });

  test("short or non-binary frames are not data", () => {
    assert.equal(decodeData(new ArrayBuffer(7)), null);
    assert.equal(decodeData("hello"), null);
    assert.deepEqual([...decodeData(new ArrayBuffer(8)).bytes], []);
  });

  test("control frames round-trip and are checked", () => {
    for (const frame of [
      { t: "want", from: 3, hashes: true },
      { t: "bad", block: 2 },
      { t: "ok", block: 0 },
      { t: "end" },
      { t: "nofile" },
    ]) {
      assert.deepEqual(decodeControl(encodeControl(frame)), frame);
    }
    assert.deepEqual(decodeControl('{"t":"want","from":1}'), { t: "want", from: 1, hashes: false });
    const hashes = "ab".repeat(64);
    assert.deepEqual(decodeControl(JSON.stringify({ t: "hashes", from: 0, hashes })), { t: "hashes", from: 0, hashes });
    for (const bad of [
      '{"t":"want","from":-1}',
      '{"t":"bad"}',
      '{"t":"ok","block":"1"}',
      '{"t":"hashes","from":0,"hashes":"xyz"}',
      '{"t":"nope"}',
      "[1]",
      "not json",
      '{"t":"hashes","from":0,"hashes":"abc"}',
    ]) {
      assert.equal(decodeControl(bad), null, bad);
    }
  });

  test("labels carry the transfer id", () => {
    assert.equal(labelOf("abc"), "file:abc");
    assert.equal(transferOfLabel("file:abc"), "abc");
    assert.equal(transferOfLabel("chat"), null);
    assert.equal(transferOfLabel("file:"), null);
    assert.deepEqual(splitHashes("a".repeat(64) + "b".repeat(64)), ["a".repeat(64), "b".repeat(64)]);
  });
});

describe("ChannelSender (backpressure)", () => {
  test("waits for bufferedamountlow above the high mark; never queues much more", async () => {
    const [a, b] = channelPair("file:x");
    a.open();
    b.open();
    let received = 0;
    b.addEventListener("message", (ev) => (received += ev.data.byteLength));
    const sender = new ChannelSender(a, { high: 256 * 1024, low: 64 * 1024 });
    assert.equal(a.bufferedAmountLowThreshold, 64 * 1024);
    for (let i = 0; i < 64; i++) assert.ok(await sender.send(new ArrayBuffer(64 * 1024)));
    assert.ok(await until(() => a.bufferedAmount === 0), "everything delivered");
    assert.equal(received, 64 * 64 * 1024);
    assert.ok(a.maxBuffered <= 256 * 1024 + 64 * 1024, `buffered up to ${a.maxBuffered}`);
  });

  test("a channel closing while waiting ends the send with false", async () => {
    const [a, b] = channelPair("file:x");
    a.open();
    b.open();
    const sender = new ChannelSender(a, { high: 0, low: 0 });
    a.bufferedAmount = 10; // stuck
    const pending = sender.send(new ArrayBuffer(1));
    a.close();
    assert.equal(await pending, false);
  });
});

/** A sender session and a block receiver joined by a fake channel pair. */
/**
 * Record the file's slices ("first block+blocks", or "first-end" for a stream's slice);
 * `noByob`: their streams take no BYOB reads (as in a browser without them).
 */
function spySlices(file, noByob = false) {
  const slices = [];
  const slice = file.slice.bind(file);
  file.slice = (start, end) => {
    slices.push(
      end === undefined
        ? `${start / MiB}-end`
        : `${start / MiB}+${Math.ceil((Math.min(end, file.size) - start) / MiB)}`,
    );
    const blob = slice(start, end);
    if (noByob) blob.stream = () => new ReadableStream({ start: (c) => c.close() });
    return blob;
  };
  return slices;
}

async function wire(file, { have = 0, hashes = null, readBlocks, stream } = {}) {
  const { root, blocks } = await hashFile(file);
  const [rx, tx] = channelPair("file:t");
  const store = memoryStore();
  const writer = await store.open("t", file.size);
  const receiver = new BlockReceiver({
    size: file.size,
    root,
    writer,
    hashes,
    have,
    stored: hashes ? hashes.slice(0, have) : [],
  });
  const log = { ok: [], bad: [], bytes: 0 };
  const session = new SendSession({
    channel: tx,
    file,
    hashes: blocks,
    readBlocks,
    stream,
    onVerified: (b) => log.ok.push(b),
    onBad: (b) => log.bad.push(b),
    onBytes: (n) => (log.bytes += n),
  });
  let queue = Promise.resolve();
  rx.addEventListener("message", (ev) => {
    queue = queue.then(async () => {
      if (typeof ev.data === "string") {
        const c = decodeControl(ev.data);
        if (c.t === "hashes") assert.ok(await receiver.addHashes(c.from, splitHashes(c.hashes)));
        return;
      }
      const f = decodeData(ev.data);
      const r = await receiver.ingest(f.block, f.offset, f.bytes);
      if (r.kind === "verified" || r.kind === "known") rx.send(encodeControl({ t: "ok", block: r.block }));
      if (r.kind === "bad") rx.send(encodeControl({ t: "bad", block: r.block }));
    });
  });
  rx.open();
  tx.open();
  const want = () => rx.send(encodeControl({ t: "want", from: receiver.have, hashes: !receiver.hashes }));
  const drain = async () => {
    await until(() => session.complete);
    await queue;
  };
  return { root, blocks, rx, tx, store, receiver, session, log, want, drain };
}

describe("SendSession ↔ BlockReceiver", () => {
  test("want with hashes: the hash list, then every block, each verified and stored", async () => {
    const file = patternFile(2 * MiB + 1234);
    const w = await wire(file);
    w.want();
    await w.drain();
    assert.ok(w.session.complete);
    assert.ok(w.receiver.complete);
    assert.ok(await w.receiver.verifyRoot());
    assert.deepEqual(w.log.ok, [0, 1, 2]);
    assert.equal(w.log.bytes, file.size);
    const stored = new Uint8Array(await (await w.store.file("t", "x", "")).arrayBuffer());
    assert.deepEqual(stored, pattern(file.size));
  });

  test("a damaged block is reported bad and sent again; the file ends up intact", async () => {
    const file = patternFile(3 * MiB);
    const w = await wire(file);
    damageOnce(w.tx, 1);
    w.want();
    await w.drain();
    assert.deepEqual(w.log.bad, [1]);
    assert.ok(w.receiver.complete && (await w.receiver.verifyRoot()));
    assert.equal(w.log.bytes, file.size + MiB, "only the bad block went twice");
    assert.equal(w.receiver.badCounts.get(1), 1);
  });

  test("resume: want from the first unverified block sends only the rest", async () => {
    const file = patternFile(4 * MiB);
    const { blocks } = await hashFile(file);
    const w = await wire(file, { have: 3, hashes: blocks });
    w.want();
    await w.drain();
    assert.equal(w.log.bytes, MiB, "one block");
    assert.deepEqual(w.log.ok, [2, 3], "blocks 0-2 known from the want (one call), then block 3");
    assert.ok(w.session.complete);
    assert.ok(!w.rx.sent.some((d) => typeof d === "string" && d.includes('"hashes":true')), "no hash list asked");
  });

  test("a block verified beyond the first unverified one is confirmed again when it comes again", async () => {
    // After a bad block and a drop: block 1 was bad, 2 and 3 were verified, the channel
    // went. The new want starts at 1; blocks 2 and 3 travel again and must get their
    // "ok", or they would hold the sender's window (and its "end") for ever.
    const file = patternFile(6 * MiB);
    const { blocks } = await hashFile(file);
    const w = await wire(file, { have: 1, hashes: blocks });
    const bytes = pattern(file.size);
    for (const b of [2, 3])
      assert.equal((await w.receiver.ingest(b, 0, bytes.subarray(b * MiB, (b + 1) * MiB))).kind, "verified");
    assert.equal(w.receiver.have, 1);
    w.want();
    await w.drain();
    assert.ok(w.session.complete, `confirmed ${[...w.session.confirmed]}`);
    assert.equal(w.session.inFlight.size, 0);
    assert.deepEqual([...w.log.ok].sort(), [0, 1, 2, 3, 4, 5], "0: known from the want");
    assert.ok(w.receiver.complete && (await w.receiver.verifyRoot()));
  });

  test("the file is read as one stream into the frames; a resend after bad reads its block on its own", async () => {
    const file = patternFile(10 * MiB + 100);
    const w = await wire(file);
    const slices = spySlices(file);
    damageOnce(w.tx, 5);
    w.want();
    await w.drain();
    assert.ok(w.receiver.complete && (await w.receiver.verifyRoot()));
    assert.deepEqual(slices, ["0-end", "5+1"]);
    assert.equal(w.log.bytes, file.size + MiB);
  });

  test("without BYOB streams the file is read READ_BLOCKS blocks at a time, ahead of the send", async () => {
    assert.ok(READ_BLOCKS >= 4);
    for (const how of ["option", "browser"]) {
      const file = patternFile(10 * MiB + 100);
      const w = await wire(file, { readBlocks: 4, stream: how === "option" ? false : undefined });
      const slices = spySlices(file, how === "browser");
      damageOnce(w.tx, 5);
      w.want();
      await w.drain();
      assert.ok(w.receiver.complete && (await w.receiver.verifyRoot()), how);
      assert.deepEqual(slices.filter((r) => r !== "0-end").sort(), ["0+4", "4+4", "5+1", "8+3"], how);
    }
  });

  test("FileStream: frames with the payload read in, null past the end", async () => {
    const size = 2 * MiB + 10;
    const stream = FileStream.open(patternFile(size), MiB);
    const first = decodeData(await stream.frame(1, 0, 65536));
    assert.deepEqual([first.block, first.offset], [1, 0]);
    assert.deepEqual(first.bytes, pattern(size).subarray(MiB, MiB + 65536));
    assert.equal(stream.position, MiB + 65536);
    const rest = MiB + 10 - 65536;
    assert.deepEqual(decodeData(await stream.frame(1, 65536, rest)).bytes, pattern(size).subarray(MiB + 65536));
    assert.equal(await stream.frame(2, 0, 10), null, "the file ends");
    const plain = patternFile(10);
    spySlices(plain, true);
    assert.equal(FileStream.open(plain, 0), null, "no BYOB reads");
  });

  test("FileAhead: one slice ahead at most; a jump restarts the reads there", async () => {
    const size = 9 * MiB + 7;
    const ahead = new FileAhead(patternFile(size), 2);
    const all = pattern(size);
    for (let i = 0; i < 10; i++) {
      const bytes = await ahead.block(i);
      assert.deepEqual(bytes, all.subarray(i * MiB, Math.min(size, (i + 1) * MiB)), `block ${i}`);
      assert.ok(ahead.slices.length <= 2, "the current slice and the next");
    }
    assert.equal(ahead.reads, 5);
    assert.deepEqual(await ahead.block(3), all.subarray(3 * MiB, 4 * MiB), "back: read again");
    assert.equal(ahead.reads, 7, "block 3's slice and the one after it");
    await ahead.block(4);
    assert.equal(ahead.reads, 7, "already read ahead");
    await ahead.block(8);
    assert.equal(ahead.reads, 8, "forward past the slices: read again");
    const missing = new FileAhead(
      { size: 4 * MiB, slice: () => ({ arrayBuffer: () => Promise.reject(new Error("NotReadableError")) }) },
      2,
    );
    await assert.rejects(missing.block(0), /NotReadableError/);
  });

  test("at most WINDOW_BLOCKS blocks unconfirmed: a silent receiver stops the sender", async () => {
    const file = patternFile((WINDOW_BLOCKS + 4) * MiB);
    const { blocks } = await hashFile(file);
    const [rx, tx] = channelPair("file:t");
    rx.open();
    tx.open();
    const session = new SendSession({ channel: tx, file, hashes: blocks });
    rx.send(encodeControl({ t: "want", from: 0, hashes: false }));
    assert.ok(await until(() => parked(session)));
    const sentBlocks = new Set(tx.sent.filter((d) => typeof d !== "string").map((d) => decodeData(d).block));
    assert.equal(sentBlocks.size, WINDOW_BLOCKS);
    rx.send(encodeControl({ t: "ok", block: 0 }));
    assert.ok(await until(() => session.confirmed.has(0) && parked(session)));
    assert.equal(
      new Set(tx.sent.filter((d) => typeof d !== "string").map((d) => decodeData(d).block)).size,
      WINDOW_BLOCKS + 1,
    );
    session.close();
  });

  test("a big file's hash list goes in frames under 64 KiB and is checked once complete", async () => {
    const count = 2500; // a 2.5 GiB file: three "hashes" frames
    const hashes = Array.from({ length: count }, (_, i) => i.toString(16).padStart(64, "0"));
    const root = await rootOf(hashes);
    const [rx, tx] = channelPair("file:big");
    rx.open();
    tx.open();
    const bigFile = { size: count * MiB, slice: () => new Blob([]) }; // never read: no blocks asked for
    const session = new SendSession({ channel: tx, file: bigFile, hashes });
    rx.send(encodeControl({ t: "want", from: count, hashes: true }));
    // Every hash goes out, then nothing (all blocks are before `from`): the pump ends.
    assert.ok(await until(() => session.started && !session.pumping && tx.bufferedAmount === 0));
    const frames = tx.sent.filter((d) => typeof d === "string").map((d) => ({ text: d, frame: decodeControl(d) }));
    const hashFrames = frames.filter((f) => f.frame.t === "hashes");
    assert.equal(hashFrames.length, 3);
    assert.ok(
      hashFrames.every((f) => f.text.length < 65536),
      "each frame fits a 64 KiB maxMessageSize",
    );
    const receiver = new BlockReceiver({ size: count * MiB, root, writer: await memoryStore().open("big", 0) });
    for (const { frame } of hashFrames)
      assert.equal(await receiver.addHashes(frame.from, splitHashes(frame.hashes)), true);
    assert.deepEqual(receiver.hashes, hashes);
    const liar = new BlockReceiver({ size: count * MiB, root, writer: await memoryStore().open("big2", 0) });
    hashFrames[2].frame.hashes = `f${hashFrames[2].frame.hashes.slice(1)}`;
    let ok = true;
    for (const { frame } of hashFrames) ok = await liar.addHashes(frame.from, splitHashes(frame.hashes));
    assert.equal(ok, false);
    assert.equal(liar.hashes, null);
    session.close();
  });

  test("a hash list that does not match the root is refused", async () => {
    const receiver = new BlockReceiver({ size: MiB, root: "0".repeat(64), writer: await memoryStore().open("x", MiB) });
    assert.equal(await receiver.addHashes(0, ["a".repeat(64)]), false);
    assert.equal(receiver.hashes, null);
  });

  test("pieces out of place are ignored until the block restarts at offset 0", async () => {
    const file = patternFile(MiB);
    const { root, blocks } = await hashFile(file);
    const receiver = new BlockReceiver({ size: MiB, root, hashes: blocks, writer: await memoryStore().open("x", MiB) });
    const bytes = pattern(MiB);
    assert.equal((await receiver.ingest(0, 1000, bytes.subarray(1000, 2000))).kind, "ignored");
    assert.equal((await receiver.ingest(0, 0, bytes.subarray(0, MiB / 2))).kind, "ignored");
    assert.equal((await receiver.ingest(0, MiB / 2, bytes.subarray(MiB / 2))).kind, "verified");
    assert.equal(receiver.have, 1);
    assert.equal((await receiver.ingest(0, 0, bytes.subarray(0, 1000))).kind, "ignored", "already verified");
    assert.deepEqual(
      await receiver.ingest(0, 1000, bytes.subarray(1000)),
      { kind: "known", block: 0 },
      "its last piece: confirm again",
    );
  });

  test("block buffers are reused: the store hands a written one back, a bad one is kept", async () => {
    const size = 4 * MiB;
    const file = patternFile(size);
    const { root, blocks } = await hashFile(file);
    const receiver = new BlockReceiver({ size, root, hashes: blocks, writer: await memoryStore().open("x", size) });
    const bytes = pattern(size);
    const buffers = [];
    for (const block of [0, 1, 2]) {
      const piece =
        block === 2 ? bytes.slice(2 * MiB, 3 * MiB).fill(0, 0, 10) : bytes.subarray(block * MiB, (block + 1) * MiB);
      await receiver.ingest(block, 0, piece.subarray(0, 1000));
      buffers.push(receiver.partial.get(block).buf.buffer);
      assert.equal((await receiver.ingest(block, 1000, piece.subarray(1000))).kind, block === 2 ? "bad" : "verified");
    }
    assert.equal(buffers[1], buffers[0], "block 1 filled block 0's buffer again");
    assert.equal(buffers[2], buffers[0]);
    await receiver.ingest(2, 0, bytes.subarray(2 * MiB, 3 * MiB));
    await receiver.ingest(3, 0, bytes.subarray(3 * MiB));
    assert.ok(receiver.complete && (await receiver.verifyRoot()));
  });

  test("without a hash list (server download) blocks are taken and the root decides", async () => {
    const file = patternFile(MiB + 10);
    const { root } = await hashFile(file);
    const receiver = new BlockReceiver({ size: file.size, root, writer: await memoryStore().open("x", file.size) });
    const bytes = pattern(file.size);
    await receiver.ingest(0, 0, bytes.subarray(0, MiB));
    const tampered = bytes.slice(MiB);
    tampered[0] ^= 1;
    assert.equal((await receiver.ingest(1, 0, tampered)).kind, "verified");
    assert.ok(receiver.complete);
    assert.equal(await receiver.verifyRoot(), false);
    receiver.reset();
    assert.equal(receiver.have, 0);
  });

  test("resume bookkeeping: have, stored hashes and bytes verified", async () => {
    const file = patternFile(3 * MiB - 5);
    const { root, blocks } = await hashFile(file);
    const receiver = new BlockReceiver({
      size: file.size,
      root,
      hashes: blocks,
      have: 1,
      writer: await memoryStore().open("x", file.size),
    });
    assert.equal(receiver.have, 1);
    assert.equal(receiver.bytesVerified, MiB);
    const bytes = pattern(file.size);
    await receiver.ingest(2, 0, bytes.subarray(2 * MiB));
    assert.equal(receiver.have, 1, "a gap at block 1");
    assert.equal(receiver.bytesVerified, 2 * MiB - 5);
    assert.deepEqual(receiver.storedHashes(), [blocks[0]]);
    await receiver.ingest(1, 0, bytes.subarray(MiB, 2 * MiB));
    assert.equal(receiver.have, 3);
    assert.ok(await receiver.verifyRoot());
  });
});
